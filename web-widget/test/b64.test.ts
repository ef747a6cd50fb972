import { describe, expect, it } from 'vitest';
import { b64Decode, b64DecodeExact, b64Encode } from '../src/proto/b64.js';
import { errorCode } from './vectors.js';

describe('base64url without padding', () => {
  /** The RFC 4648 test strings, URL-safe alphabet, no padding. */
  it('encodes and decodes RFC 4648 §10 vectors', () => {
    const cases: [string, string][] = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
    for (const [plain, enc] of cases) {
      expect(b64Encode(new TextEncoder().encode(plain))).toBe(enc);
      expect(new TextDecoder().decode(b64Decode(enc))).toBe(plain);
    }
    expect(b64Encode(Uint8Array.of(0xfb, 0xff, 0x00))).toBe('-_8A');
  });

  /** Every byte string of lengths 0..64 round-trips and matches Node's encoder. */
  it('round-trips and matches Buffer', () => {
    for (let len = 0; len <= 64; len++) {
      const bytes = crypto.getRandomValues(new Uint8Array(len));
      const enc = b64Encode(bytes);
      expect(enc).toBe(Buffer.from(bytes).toString('base64url'));
      expect(b64Decode(enc)).toEqual(bytes);
    }
  });

  /** Padding, the standard alphabet, bad characters, impossible lengths and non-zero trailing bits are refused. */
  it.each(['AA==', 'AA=', '+/8A', 'A', 'AAAAA', 'AB', 'AAB', 'A A', 'AA\n', 'ÆÆ', 'Zh', 'Zm9'])('refuses %j', (text) => {
    expect(errorCode(() => b64Decode(text))).toBe('base64');
  });

  /** Exact-length decoding reports a wrong length separately. */
  it('checks exact lengths', () => {
    expect(b64DecodeExact('AAAA', 3)).toEqual(new Uint8Array(3));
    expect(errorCode(() => b64DecodeExact('AAAA', 2))).toBe('length');
    expect(errorCode(() => b64DecodeExact('AA=A', 2))).toBe('base64');
  });
});
