/**
 * Application plaintext padding of PROTOCOL.md §2: `u16 len ‖ json ‖ zeros` to the smallest
 * bucket of 256, 1024, 4096 or 16384 bytes, so ciphertext sizes reveal little. As Rust's
 * `pad.rs`: only the four bucket sizes are accepted and the padding is checked in constant time.
 */

import { isAllZero } from './bytes.js';
import { fail } from './errors.js';

/** The padded sizes, smallest first. */
export const BUCKETS: readonly number[] = [256, 1024, 4096, 16384];
/** The largest JSON that fits: the largest bucket minus the 2-byte length. */
export const MAX_JSON_LEN = 16384 - 2;

/** Pads `json` to the smallest bucket that holds it; throws `too_large` above {@link MAX_JSON_LEN}. */
export function pad(json: Uint8Array): Uint8Array {
  const size = BUCKETS.find((bucket) => json.length + 2 <= bucket);
  if (size === undefined) {
    throw fail('too_large', `message of ${json.length} bytes exceeds the maximum of ${MAX_JSON_LEN}`);
  }
  const out = new Uint8Array(size);
  out[0] = json.length >>> 8;
  out[1] = json.length & 0xff;
  out.set(json, 2);
  return out;
}

/**
 * Returns the JSON inside padded plaintext (a view into `padded`); throws `padding` for a size
 * that is not a bucket, a length past the end or non-zero padding.
 */
export function unpad(padded: Uint8Array): Uint8Array {
  if (!BUCKETS.includes(padded.length)) throw fail('padding', 'bad padding: size is not a padding bucket');
  const len = ((padded[0] ?? 0) << 8) | (padded[1] ?? 0);
  if (len > padded.length - 2) throw fail('padding', 'bad padding: length past the end');
  if (!isAllZero(padded.subarray(2 + len))) throw fail('padding', 'bad padding: non-zero padding');
  return padded.subarray(2, 2 + len);
}
