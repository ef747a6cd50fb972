/**
 * Certificate chains of PROTOCOL.md §1, verified against the pinned org root at a given time:
 * a counsellor's bundle (org root → identity → shift key) and office certificates. The order
 * of the checks, and so which error a bad chain gets, is that of Rust's `bundle.rs`.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { b64Decode } from './b64.js';
import { concat } from './bytes.js';
import { verifyIdCert, verifyOfficeCertSignature, verifyShiftCert } from './cert.js';
import type { IdCert, OfficeCert, Role, ShiftCert } from './cert.js';
import { fail } from './errors.js';

/** Allowed clock difference between issuer and verifier, in seconds (±). */
export const CLOCK_SKEW_SECS = 300n;
/** Longest allowed shift certificate (`not_after − not_before`): 12 hours. */
export const MAX_SHIFT_SECS = 12n * 3600n;

/** A bundle as it travels: `{"id_cert": b64, "shift_cert": b64}`. */
export interface WireBundle {
  readonly id_cert: string;
  readonly shift_cert: string;
}

/** A bundle that passed every rule of §1: who the counsellor is and which key to talk to. */
export interface VerifiedBundle {
  /** The counsellor's alias, as certified by the org. */
  readonly alias: string;
  /** Counsellor (1) or supervisor (2). */
  readonly role: Role;
  /** The Noise responder static key for this shift. */
  readonly shiftPub: Uint8Array;
  /** `SHA-256(id_cert ‖ shift_cert)`, bound into the Noise prologue. */
  readonly bundleHash: Uint8Array;
  /** The verified identity certificate. */
  readonly id: IdCert;
  /** The verified shift certificate. */
  readonly shift: ShiftCert;
}

/** `SHA-256(id_cert ‖ shift_cert)` over the certificate bytes. */
export function bundleHash(idCert: Uint8Array, shiftCert: Uint8Array): Uint8Array {
  return sha256(concat(idCert, shiftCert));
}

/** Valid iff `not_before − skew ≤ now ≤ not_after + skew` (inclusive at both ends). */
function checkTime(notBefore: bigint, notAfter: bigint, now: bigint, what: string): void {
  if (now + CLOCK_SKEW_SECS < notBefore) throw fail('not_yet_valid', `${what} is not valid yet`);
  if (now > notAfter + CLOCK_SKEW_SECS) throw fail('expired', `${what} has expired`);
}

function toBigInt(nowUnix: number | bigint): bigint {
  if (typeof nowUnix === 'number' && !(Number.isSafeInteger(nowUnix) && nowUnix >= 0)) {
    throw new RangeError('now must be a non-negative integer number of Unix seconds');
  }
  return BigInt(nowUnix);
}

/**
 * Verifies a counsellor bundle against the pinned org root at `nowUnix`: the identity
 * certificate's root signature and window, the shift certificate's identity signature, a
 * shift of at most 12 h inside the identity window, and the shift window (both ±300 s).
 * Throws `base64`, `bad_signature`, `cert_format`, `expired`, `not_yet_valid` or `shift_window`.
 */
export function verifyBundle(orgRootPub: Uint8Array, bundle: WireBundle, nowUnix: number | bigint): VerifiedBundle {
  const now = toBigInt(nowUnix);
  const idCert = b64Decode(bundle.id_cert, 'id_cert');
  const shiftCert = b64Decode(bundle.shift_cert, 'shift_cert');
  const id = verifyIdCert(idCert, orgRootPub);
  checkTime(id.notBefore, id.notAfter, now, 'identity certificate');
  const shift = verifyShiftCert(shiftCert, id.idPub);
  if (shift.notAfter - shift.notBefore > MAX_SHIFT_SECS) {
    throw fail('shift_window', 'shift certificate: longer than 12 hours');
  }
  if (shift.notBefore < id.notBefore || shift.notAfter > id.notAfter) {
    throw fail('shift_window', "shift certificate: outside the identity certificate's validity");
  }
  checkTime(shift.notBefore, shift.notAfter, now, 'shift certificate');
  return { alias: id.alias, role: id.role, shiftPub: shift.shiftPub, bundleHash: bundleHash(idCert, shiftCert), id, shift };
}

/** Verifies an office certificate against the org root at `nowUnix` (±300 s). */
export function verifyOfficeCert(orgRootPub: Uint8Array, cert: Uint8Array, nowUnix: number | bigint): OfficeCert {
  const now = toBigInt(nowUnix);
  const office = verifyOfficeCertSignature(cert, orgRootPub);
  checkTime(office.notBefore, office.notAfter, now, 'office certificate');
  return office;
}
