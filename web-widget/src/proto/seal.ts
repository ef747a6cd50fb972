/**
 * Sealed envelopes of PROTOCOL.md §4, as Rust's `seal.rs`: HPKE base mode to an office's
 * certified X25519 recipient key. Referrals use `info = "lyt/1 referral" ‖ office_id` and
 * `aad = referral_id[16]`; callback requests `info = "lyt/1 callback"`, `aad = request_id[16]`.
 * Sealing to an invalid or low-order key throws `seal`; any failure to open throws `open`.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { b64Decode, b64Encode } from './b64.js';
import { concat, utf8Encode } from './bytes.js';
import { fail } from './errors.js';
import { hpkeOpen, hpkeSeal } from './hpke.js';

/** The `info` prefix of a referral envelope; the office id follows. */
export const REFERRAL_INFO_PREFIX = 'lyt/1 referral';
/** The `info` of a callback request envelope. */
export const CALLBACK_INFO = 'lyt/1 callback';

/** An HPKE envelope as bytes: the encapsulated key (32 bytes) and the ciphertext with its tag. */
export interface Sealed {
  readonly enc: Uint8Array;
  readonly ct: Uint8Array;
}

/** An HPKE envelope as it travels: `{"enc": b64, "ct": b64}`. */
export interface WireSealed {
  readonly enc: string;
  readonly ct: string;
}

/** `"lyt/1 referral" ‖ office_id`. */
export function referralInfo(officeId: string): Uint8Array {
  return utf8Encode(REFERRAL_INFO_PREFIX + officeId);
}

function id16(id: Uint8Array, what: string): Uint8Array {
  if (id.length !== 16) throw fail('length', `${what}: expected 16 bytes, got ${id.length}`);
  return id;
}

/** Single-shot seal with any `info` and `aad`; `ikmE` is for test vectors only. */
export function seal(recipientPub: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, ikmE?: Uint8Array): Sealed {
  if (recipientPub.length !== 32) throw fail('seal', 'sealing failed: bad recipient key');
  try {
    return ikmE === undefined ? hpkeSeal(recipientPub, info, aad, plaintext) : hpkeSeal(recipientPub, info, aad, plaintext, ikmE);
  } catch {
    throw fail('seal', 'sealing failed: recipient key is invalid or low-order');
  }
}

/** Single-shot open with any `info` and `aad`; throws `open` on any failure. */
export function open(recipientSecret: Uint8Array, info: Uint8Array, aad: Uint8Array, sealed: Sealed): Uint8Array {
  if (recipientSecret.length !== 32 || sealed.enc.length !== 32) throw fail('open', 'sealed envelope does not open');
  try {
    return hpkeOpen(recipientSecret, sealed.enc, info, aad, sealed.ct);
  } catch {
    throw fail('open', 'sealed envelope does not open');
  }
}

/** Seals a referral's inner plaintext to an office. */
export function sealReferral(officeId: string, officeRecipientPub: Uint8Array, referralId: Uint8Array, plaintext: Uint8Array, ikmE?: Uint8Array): Sealed {
  return seal(officeRecipientPub, referralInfo(officeId), id16(referralId, 'referral_id'), plaintext, ikmE);
}

/** Opens a referral with the office's recipient secret; fails for any other office id or id. */
export function openReferral(officeId: string, officeRecipientSecret: Uint8Array, referralId: Uint8Array, sealed: Sealed): Uint8Array {
  return open(officeRecipientSecret, referralInfo(officeId), id16(referralId, 'referral_id'), sealed);
}

/** Seals a callback request to the phone desk. */
export function sealCallback(deskRecipientPub: Uint8Array, requestId: Uint8Array, plaintext: Uint8Array, ikmE?: Uint8Array): Sealed {
  return seal(deskRecipientPub, utf8Encode(CALLBACK_INFO), id16(requestId, 'request_id'), plaintext, ikmE);
}

/** Opens a callback request with the phone desk's recipient secret. */
export function openCallback(deskRecipientSecret: Uint8Array, requestId: Uint8Array, sealed: Sealed): Uint8Array {
  return open(deskRecipientSecret, utf8Encode(CALLBACK_INFO), id16(requestId, 'request_id'), sealed);
}

/** The wire form of an envelope. */
export function sealedToWire(sealed: Sealed): WireSealed {
  return { enc: b64Encode(sealed.enc), ct: b64Encode(sealed.ct) };
}

/** An envelope from its wire form; throws `base64`. */
export function sealedFromWire(wire: WireSealed): Sealed {
  return { enc: b64Decode(wire.enc, 'enc'), ct: b64Decode(wire.ct, 'ct') };
}

/** `"lyt/1 referral" ‖ office_id ‖ referral_id ‖ SHA-256(R)`: what a counsellor signs. */
export function referralSignatureMessage(officeId: string, referralId: Uint8Array, r: Uint8Array): Uint8Array {
  return concat(referralInfo(officeId), id16(referralId, 'referral_id'), sha256(r));
}
