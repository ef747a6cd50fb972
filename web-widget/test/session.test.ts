import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { CipherState, MAX_COUNTER, Session } from '../src/proto/session.js';
import { errorCode } from './vectors.js';

const key = (): Uint8Array => new Uint8Array(32).fill(3);

describe('session', () => {
  /** The last counter is used once; then the session refuses with nonce_exhausted and poisons. */
  it('stops at the counter limit', () => {
    const send = new CipherState(key());
    send.n = MAX_COUNTER - 1;
    const s = new Session(send, new CipherState(key()), new Uint8Array(32), true);
    expect(s.encrypt(new Uint8Array(1)).n).toBe(MAX_COUNTER - 1);
    expect(errorCode(() => s.encrypt(new Uint8Array(1)))).toBe('nonce_exhausted');
    expect(errorCode(() => s.encrypt(new Uint8Array(1)))).toBe('poisoned');
  });

  /** HKDF-SHA256(h, salt = "", "lyt/1 safety code")[0..4] as a BE u32 mod 10^6, six digits with zeros. */
  it('derives the safety code', () => {
    for (const fill of [0, 1, 0xab]) {
      const h = new Uint8Array(32).fill(fill);
      const okm = hkdf(sha256, h, undefined, new TextEncoder().encode('lyt/1 safety code'), 4);
      const want = String(new DataView(okm.buffer).getUint32(0) % 1_000_000).padStart(6, '0');
      expect(new Session(new CipherState(key()), new CipherState(key()), h, true).safetyCode).toBe(want);
    }
  });

  /** Plain encrypt/decrypt: counters advance only on success; failures poison and wipe. */
  it('advances counters only on success', () => {
    const a = new Session(new CipherState(key()), new CipherState(key()), new Uint8Array(32), true);
    const b = new Session(new CipherState(key()), new CipherState(key()), new Uint8Array(32), false);
    const m = a.encrypt(new Uint8Array([1, 2, 3]));
    expect(b.decrypt(m.n, m.ct)).toEqual(new Uint8Array([1, 2, 3]));
    expect(b.nextRecvCounter).toBe(1);
    expect(a.nextSendCounter).toBe(1);
    expect(errorCode(() => b.decrypt(1, m.ct.subarray(0, 15)))).toBe('decrypt');
    expect(b.poisoned).toBe(true);
    expect(errorCode(() => b.decrypt(1, m.ct))).toBe('poisoned');
    expect(() => a.decrypt(-1, m.ct)).toThrow(RangeError);
  });
});
