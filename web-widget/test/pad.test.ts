import { describe, expect, it } from 'vitest';
import { b64Encode } from '../src/proto/b64.js';
import { BUCKETS, MAX_JSON_LEN, pad, unpad } from '../src/proto/pad.js';
import { b64, errorCode, loadVector } from './vectors.js';

interface Padding {
  buckets: number[]; max_json_len: number;
  valid: { len: number; data: string; padded_len: number; padded: string }[];
  invalid: { name: string; padded: string; error: string }[];
  too_large: { len: number; error: string };
}
const v = loadVector<Padding>('padding.json');

describe('padding.json', () => {
  it('has the same buckets and maximum', () => {
    expect(v.buckets).toEqual(BUCKETS);
    expect(v.max_json_len).toBe(MAX_JSON_LEN);
  });

  it.each(v.valid)('pads and unpads $len bytes into $padded_len', (c) => {
    const padded = pad(b64(c.data));
    expect(padded.length).toBe(c.padded_len);
    expect(b64Encode(padded)).toBe(c.padded);
    expect(b64Encode(unpad(b64(c.padded)))).toBe(c.data);
  });

  it.each(v.invalid)('refuses $name with $error', (c) => {
    expect(errorCode(() => unpad(b64(c.padded)))).toBe(c.error);
  });

  it('refuses too large data at the sender', () => {
    expect(errorCode(() => pad(new Uint8Array(v.too_large.len)))).toBe(v.too_large.error);
  });
});

describe('padding', () => {
  /** Every length from 0 to 16382 round-trips into the smallest bucket that holds it. */
  it('round-trips every length 0..16382', () => {
    const data = Uint8Array.from({ length: MAX_JSON_LEN }, (_, i) => (i % 251) + 1);
    for (let len = 0; len <= MAX_JSON_LEN; len++) {
      const padded = pad(data.subarray(0, len));
      const want = BUCKETS.find((b) => len + 2 <= b);
      if (padded.length !== want) expect.fail(`len ${len}: padded to ${padded.length}, want ${want}`);
      const back = unpad(padded);
      if (back.length !== len || back.some((b, i) => b !== data[i])) expect.fail(`len ${len}: round trip differs`);
    }
  });

  /** Bucket edges, non-bucket sizes, lengths past the end and any non-zero padding byte. */
  it('refuses malformed padding', () => {
    expect(pad(new Uint8Array(254)).length).toBe(256);
    expect(pad(new Uint8Array(255)).length).toBe(1024);
    const p = pad(new Uint8Array([0x7b, 0x7d]));
    expect(errorCode(() => unpad(p.subarray(0, 255)))).toBe('padding');
    expect(errorCode(() => unpad(new Uint8Array(0)))).toBe('padding');
    expect(errorCode(() => unpad(new Uint8Array(257)))).toBe('padding');
    for (let i = 4; i < p.length; i++) {
      const bad = p.slice();
      bad[i] = 1;
      expect(errorCode(() => unpad(bad))).toBe('padding');
    }
    const past = p.slice();
    past[0] = 1;
    expect(errorCode(() => unpad(past))).toBe('padding');
    past[0] = 0;
    past[1] = 254;
    expect(unpad(past).length).toBe(254);
    past[1] = 255;
    expect(errorCode(() => unpad(past))).toBe('padding');
  });
});
