/** What the widget reads from relay frames beyond the proto module: `resumed`, and `ended` reasons in the visitor's terms. */

import { b64Decode } from '../proto/index.js';
import type { EndReason } from './state.js';

/** A server frame the proto module does not know yet: `{"t":"resumed","conv":…}` (docs/protocol.md). */
export function parseResumed(text: string): { conv: string } | undefined {
  if (!text.startsWith('{"t":"resumed"')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    const keys = Object.keys(v);
    const conv = (v as Record<string, unknown>)['conv'];
    if (keys.length !== 2 || typeof conv !== 'string' || conv.length !== 22 || b64Decode(conv).length !== 16) return undefined;
    return { conv };
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
