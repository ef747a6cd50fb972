/**
 * The phone desk in the console: the desk's key file (as `lyt keys office-init` writes it),
 * read into memory only, and callback requests opened locally with it (PROTOCOL.md §4:
 * HPKE, `info = "lyt/1 callback"`, `aad = request id`). The relay only ever has the envelope.
 */

import { b64Decode, b64DecodeExact, openCallback, sealedFromWire, x25519Public } from '../proto/index.js';
import type { CallbackItem } from '../proto/index.js';

/** The label of an X25519 secret key file (Rust's `KeyKind::X25519Secret`). */
const X25519_LABEL = 'lyt-x25519-secret';

/** Why a key file was refused, in terms the counsellor can act on. */
export class DeskKeyError extends Error {
  constructor(readonly problem: 'format' | 'wrong_kind' | 'wrong_desk') {
    super(`phone desk key: ${problem}`);
    this.name = 'DeskKeyError';
  }
}

/**
 * Reads a key file: comment lines (`#`) and blank lines are skipped, and exactly one line
 * `lyt-x25519-secret:<base64url of 32 bytes>` must remain — the rules of Rust's
 * `decode_key_file`. Returns the secret.
 */
export function parseDeskKeyFile(text: string): Uint8Array {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) throw new DeskKeyError('format');
  const line = lines[0] ?? '';
  const at = line.indexOf(':');
  if (at < 0) throw new DeskKeyError('format');
  const label = line.slice(0, at);
  if (label !== X25519_LABEL) throw new DeskKeyError(label.startsWith('lyt-') ? 'wrong_kind' : 'format');
  try {
    return b64DecodeExact(line.slice(at + 1), 32, 'key');
  } catch {
    throw new DeskKeyError('format');
  }
}

/** Checks that `secret` belongs to the certified phone desk key `recipientPub` (when known). */
export function checkDeskKey(secret: Uint8Array, recipientPub: Uint8Array | undefined): void {
  if (recipientPub === undefined) return;
  const pub = x25519Public(secret);
  if (pub.length !== recipientPub.length || !pub.every((b, i) => b === recipientPub[i])) throw new DeskKeyError('wrong_desk');
}

/** A callback request as the person asked for it (§4). */
export interface CallbackRequest {
  readonly phone: string;
  readonly when: string;
  readonly language: string;
  readonly voicemailOk: boolean;
  readonly name?: string;
}

function field(o: Record<string, unknown>, key: string, max: number): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > max) throw new Error(`callback request: ${key} missing`);
  return v;
}

/** Opens one request with the desk's secret; throws if it does not open or is malformed. */
export function openCallbackItem(secret: Uint8Array, item: CallbackItem): CallbackRequest {
  const plaintext = openCallback(secret, b64Decode(item.id, 'id'), sealedFromWire(item.sealed));
  try {
    const v: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('callback request: not an object');
    const o = v as Record<string, unknown>;
    if (typeof o['voicemail_ok'] !== 'boolean') throw new Error('callback request: voicemail_ok missing');
    const name = o['name'];
    return {
      phone: field(o, 'phone', 64), when: field(o, 'when', 500), language: field(o, 'language', 16), voicemailOk: o['voicemail_ok'],
      ...(typeof name === 'string' && name !== '' ? { name: name.slice(0, 100) } : {}),
    };
  } finally {
    plaintext.fill(0);
  }
}
