/** Byte helpers: concatenation, constant-time comparison, strict UTF-8, big-endian integers. */

const encoder = new TextEncoder();
// `fatal` refuses invalid UTF-8; `ignoreBOM` keeps a leading BOM so strict parsers see it.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Concatenates byte arrays into a new one. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Compares two byte arrays in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Whether every byte is zero, in time that depends only on the length. */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

/** Overwrites secret bytes with zeros (best effort: JS engines may keep copies). */
export function wipe(...arrays: Uint8Array[]): void {
  for (const a of arrays) a.fill(0);
}

/** UTF-8 encodes a string that holds no lone surrogates (Rust strings cannot). */
export function utf8Encode(text: string): Uint8Array {
  if (!isWellFormed(text)) throw new TypeError('string holds a lone surrogate');
  return encoder.encode(text);
}

/** Decodes strict UTF-8; returns `undefined` for invalid bytes. */
export function utf8Decode(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Whether a string is well-formed UTF-16 (no lone surrogates). */
export function isWellFormed(text: string): boolean {
  return !/\p{Surrogate}/u.test(text);
}

/** A big-endian u16. */
export function u16be(value: number): Uint8Array {
  return Uint8Array.of((value >>> 8) & 0xff, value & 0xff);
}

/** A big-endian u64 from a bigint in `0..2^64`. */
export function u64be(value: bigint): Uint8Array {
  if (value < 0n || value >= 1n << 64n) throw new RangeError('u64 out of range');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, false);
  return out;
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
