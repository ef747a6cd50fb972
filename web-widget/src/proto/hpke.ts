/**
 * RFC 9180 HPKE, base mode only, for the one suite lyt uses: DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, ChaCha20-Poly1305 (0x0020 / 0x0001 / 0x0003). Small enough to read against the
 * RFC: LabeledExtract/LabeledExpand (§4), DHKEM Encap/Decap and DeriveKeyPair (§4.1, §7.1.3),
 * the key schedule (§5.1) and the AEAD context (§5.2). Checked byte-for-byte against A.2.1.
 */

import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { aeadDecrypt, aeadEncrypt } from './aead.js';
import { concat, u16be, utf8Encode, wipe } from './bytes.js';
import { x25519Public, x25519RandomSecret, x25519Shared } from './keys.js';

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const MODE_BASE = 0x00;
const N_SECRET = 32;
const N_K = 32;
const N_N = 12;

const V1 = utf8Encode('HPKE-v1');
const KEM_SUITE = concat(utf8Encode('KEM'), u16be(KEM_ID));
const HPKE_SUITE = concat(utf8Encode('HPKE'), u16be(KEM_ID), u16be(KDF_ID), u16be(AEAD_ID));
const EMPTY = new Uint8Array(0);
const label = (s: string): Uint8Array => utf8Encode(s);

function labeledExtract(suite: Uint8Array, salt: Uint8Array, lbl: string, ikm: Uint8Array): Uint8Array {
  return extract(sha256, concat(V1, suite, label(lbl), ikm), salt);
}

function labeledExpand(suite: Uint8Array, prk: Uint8Array, lbl: string, info: Uint8Array, length: number): Uint8Array {
  return expand(sha256, prk, concat(u16be(length), V1, suite, label(lbl), info), length);
}

/** DeriveKeyPair(ikm) of RFC 9180 §7.1.3 for X25519: the secret is used as is (clamped by X25519). */
export function deriveKeyPair(ikm: Uint8Array): { secret: Uint8Array; publicKey: Uint8Array } {
  const prk = labeledExtract(KEM_SUITE, EMPTY, 'dkp_prk', ikm);
  const secret = labeledExpand(KEM_SUITE, prk, 'sk', EMPTY, 32);
  wipe(prk);
  return { secret, publicKey: x25519Public(secret) };
}

/** ExtractAndExpand(dh, kem_context) of §4.1. */
function extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const prk = labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', dh);
  const out = labeledExpand(KEM_SUITE, prk, 'shared_secret', kemContext, N_SECRET);
  wipe(prk, dh);
  return out;
}

/** Encap(pkR) with the ephemeral key from `ikmE` (DeriveKeyPair); throws `zero_shared_secret`. */
export function encap(recipientPub: Uint8Array, ikmE: Uint8Array): { sharedSecret: Uint8Array; enc: Uint8Array } {
  const { secret, publicKey: enc } = deriveKeyPair(ikmE);
  try {
    const dh = x25519Shared(secret, recipientPub);
    return { sharedSecret: extractAndExpand(dh, concat(enc, recipientPub)), enc };
  } finally {
    wipe(secret);
  }
}

/** Decap(enc, skR); throws `zero_shared_secret` for a low-order `enc`. */
export function decap(enc: Uint8Array, recipientSecret: Uint8Array): Uint8Array {
  const dh = x25519Shared(recipientSecret, enc);
  return extractAndExpand(dh, concat(enc, x25519Public(recipientSecret)));
}

/** The secrets of a base-mode key schedule (§5.1). */
export interface KeySchedule {
  readonly key: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly exporterSecret: Uint8Array;
}

/** KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = ""). */
export function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): KeySchedule {
  const pskIdHash = labeledExtract(HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(HPKE_SUITE, EMPTY, 'info_hash', info);
  const context = concat(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, 'secret', EMPTY);
  const out = {
    key: labeledExpand(HPKE_SUITE, secret, 'key', context, N_K),
    baseNonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', context, N_N),
    exporterSecret: labeledExpand(HPKE_SUITE, secret, 'exp', context, N_SECRET),
  };
  wipe(secret);
  return out;
}

/** The nonce of message `seq` (§5.2): `base_nonce XOR I2OSP(seq, Nn)`. */
export function computeNonce(baseNonce: Uint8Array, seq: number): Uint8Array {
  const seqBytes = new Uint8Array(N_N);
  new DataView(seqBytes.buffer).setBigUint64(N_N - 8, BigInt(seq), false);
  return baseNonce.map((b, i) => b ^ (seqBytes[i] ?? 0));
}

/** Export(exporter_context, L) (§5.3). */
export function exportSecret(schedule: KeySchedule, exporterContext: Uint8Array, length: number): Uint8Array {
  return labeledExpand(HPKE_SUITE, schedule.exporterSecret, 'sec', exporterContext, length);
}

/** Single-shot base-mode seal (sequence 0). `ikmE` defaults to 32 fresh random bytes. */
export function hpkeSeal(
  recipientPub: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  ikmE: Uint8Array = x25519RandomSecret(),
): { enc: Uint8Array; ct: Uint8Array } {
  const { sharedSecret, enc } = encap(recipientPub, ikmE);
  const ks = keySchedule(sharedSecret, info);
  const ct = aeadEncrypt(ks.key, ks.baseNonce, aad, plaintext);
  wipe(sharedSecret, ks.key, ks.exporterSecret);
  return { enc, ct };
}

/** Single-shot base-mode open (sequence 0); throws on any failure. */
export function hpkeOpen(
  recipientSecret: Uint8Array,
  enc: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ct: Uint8Array,
): Uint8Array {
  const sharedSecret = decap(enc, recipientSecret);
  const ks = keySchedule(sharedSecret, info);
  try {
    const pt = aeadDecrypt(ks.key, ks.baseNonce, aad, ct);
    if (pt === undefined) throw new Error('HPKE open: ciphertext does not authenticate');
    return pt;
  } finally {
    wipe(sharedSecret, ks.key, ks.exporterSecret);
  }
}
