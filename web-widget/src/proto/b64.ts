/**
 * base64url without padding (RFC 4648 §5), the encoding of every binary field in lyt's JSON.
 * Decoding is as strict as Rust's `URL_SAFE_NO_PAD`: only `A–Z a–z 0–9 - _`, no `=`, no
 * length ≡ 1 (mod 4), and the unused trailing bits of the last character must be zero, so
 * every byte string has exactly one accepted encoding.
 */

import { fail } from './errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes as base64url without padding. */
export function b64Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let c = 0; c < chars; c++) out += ALPHABET[(n >>> (18 - 6 * c)) & 63];
  }
  return out;
}

/** Decodes strict base64url without padding; `what` names the field in the error (`base64`). */
export function b64Decode(text: string, what = 'field'): Uint8Array {
  const bad = () => fail('base64', `${what}: not valid base64url without padding`);
  if (text.length % 4 === 1) throw bad();
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? (VALUES[code] ?? -1) : -1;
    if (v < 0) throw bad();
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >>> bits) & 0xff;
    }
  }
  // Non-canonical: the bits left over after the last full byte must be zero.
  if ((acc & ((1 << bits) - 1)) !== 0) throw bad();
  return out;
}

/** Decodes base64url into exactly `length` bytes (`base64`, then `length` on a wrong size). */
export function b64DecodeExact(text: string, length: number, what = 'field'): Uint8Array {
  const bytes = b64Decode(text, what);
  if (bytes.length !== length) {
    throw fail('length', `${what}: expected ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}
