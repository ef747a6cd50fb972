/**
 * Key primitives shared by every part of the module: the checked X25519 function (RFC 7748,
 * all-zero outputs refused as PROTOCOL.md §2 requires), Ed25519 verification with exactly the
 * acceptance rules of ed25519-dalek's `verify_strict`, signing (for issuing certificates and
 * for tests) and the human fingerprint of a public key.
 */

import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { concat, isAllZero, toHex, utf8Encode } from './bytes.js';
import { fail } from './errors.js';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;

/** Little-endian bytes to bigint. */
function leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

/**
 * X25519(secret, public), refusing an all-zero shared secret (a low-order or zero public key,
 * RFC 7748 §6.1) with `zero_shared_secret`. noble refuses the five low-order u-coordinates
 * before running the ladder; that refusal is the same set of inputs, reported the same way.
 */
export function x25519Shared(secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (secret.length !== 32 || publicKey.length !== 32) {
    throw fail('length', 'X25519: keys must be 32 bytes');
  }
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secret, publicKey);
  } catch {
    throw fail('zero_shared_secret', 'X25519 shared secret is all zeros (low-order public key)');
  }
  if (isAllZero(shared)) {
    throw fail('zero_shared_secret', 'X25519 shared secret is all zeros (low-order public key)');
  }
  return shared;
}

/** The X25519 public key of a 32-byte secret (clamped as RFC 7748 requires). */
export function x25519Public(secret: Uint8Array): Uint8Array {
  if (secret.length !== 32) throw fail('length', 'X25519: secret must be 32 bytes');
  return x25519.getPublicKey(secret);
}

/** A fresh random 32-byte X25519 secret from the platform CSPRNG. */
export function x25519RandomSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

/**
 * Ed25519 verification with the rules of ed25519-dalek 2's `verify_strict`, which the Rust
 * side uses: `S` must be canonical (`S < ℓ`); the public key `A` and `R` must decode (as
 * dalek decodes: `y` reduced mod p, `x = 0` with the sign bit allowed) and must not be of
 * small order; and the cofactorless equation must hold byte-for-byte: the canonical encoding
 * of `[S]B − [k]A` equals the signature's `R` bytes, `k = SHA-512(R ‖ A ‖ M) mod ℓ` over the
 * key bytes as given. Returns a boolean; never throws for malformed input.
 */
export function verifyStrict(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const rBytes = signature.subarray(0, 32);
  const s = leToBigInt(signature.subarray(32));
  if (s >= L) return false;
  try {
    const a = Point.fromBytes(publicKey, true);
    const r = Point.fromBytes(rBytes, true);
    if (a.isSmallOrder() || r.isSmallOrder()) return false;
    const k = leToBigInt(sha512(concat(rBytes, publicKey, message))) % L;
    const expected = Point.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k));
    const enc = expected.toBytes();
    let diff = 0;
    for (let i = 0; i < 32; i++) diff |= (enc[i] ?? 0) ^ (rBytes[i] ?? 0);
    return diff === 0;
  } catch {
    return false;
  }
}

/** Verifies with {@link verifyStrict}; throws `bad_signature` naming `what` on failure. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, what: string): void {
  if (!verifyStrict(publicKey, message, signature)) {
    throw fail('bad_signature', `${what}: signature does not verify`);
  }
}

/** The Ed25519 public key of a 32-byte secret seed. */
export function ed25519Public(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw fail('length', 'Ed25519: seed must be 32 bytes');
  return ed25519.getPublicKey(seed);
}

/** Signs `message` with a 32-byte Ed25519 seed (RFC 8032, deterministic). */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw fail('length', 'Ed25519: seed must be 32 bytes');
  return ed25519.sign(message, seed);
}

/**
 * A human-comparable fingerprint: the first 10 bytes of SHA-256("lyt/1 fingerprint" ‖ key)
 * as 20 lowercase hex digits in five space-separated groups of four.
 */
export function fingerprint(publicKey: Uint8Array): string {
  const hex = toHex(sha256(concat(utf8Encode('lyt/1 fingerprint'), publicKey)).subarray(0, 10));
  return hex.match(/..../g)?.join(' ') ?? '';
}
