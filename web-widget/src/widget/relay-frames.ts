/** What the widget reads from relay frames beyond the proto module: `resumed`, and `ended` reasons in the visitor's terms. */

import { parseServerFrame } from '../proto/index.js';
import type { EndReason } from './state.js';

/**
 * `{"t":"resumed","conv":…,"have":…}` (docs/protocol.md): the conversation is this
 * connection's again, and the relay has the visitor's `data` up to `have` (absent: none).
 */
export function parseResumed(text: string): { conv: string; have?: number } | undefined {
  if (!text.startsWith('{"t":"resumed"')) return undefined;
  try {
    const f = parseServerFrame(text);
    if (f.t !== 'resumed') return undefined;
    return f.have === undefined ? { conv: f.conv } : { conv: f.conv, have: f.have };
  } catch {
    return undefined;
  }
}

/** The visitor-facing reason for an `ended` frame's slug. */
export function endReason(reason: string): EndReason {
  if (reason === 'counsellor_ended') return 'counsellor';
  if (reason === 'visitor_left') return 'visitor';
  if (reason === 'crypto_failed') return 'crypto_failed';
  if (reason === 'resume_failed') return 'resume_expired';
  return 'other';
}
