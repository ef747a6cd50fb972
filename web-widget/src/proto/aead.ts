/**
 * ChaCha20-Poly1305 (RFC 8439) with a 96-bit nonce: the one AEAD of lyt, used by the Noise
 * CipherState and by HPKE. Decryption failure is a value (`undefined`), never an exception
 * that could carry details.
 */

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';

/** Encrypts `plaintext` with `key` (32 bytes), `nonce` (12 bytes) and `ad`; returns ct ‖ tag. */
export function aeadEncrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

/** Decrypts ct ‖ tag; `undefined` if it does not authenticate or is shorter than a tag. */
export function aeadDecrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
  if (key.length !== 32 || nonce.length !== 12 || ciphertext.length < 16) return undefined;
  try {
    return chacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    return undefined;
  }
}
