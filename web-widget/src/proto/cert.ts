/**
 * The certificate byte layouts of PROTOCOL.md §1 — identity, shift and office certificates —
 * with the strict parsing of Rust's `cert.rs`: exact magic, exact lengths, no trailing bytes,
 * bounded UTF-8 strings, `not_after > not_before`. A certificate is
 * `body ‖ Ed25519 signature(64) over body`; `verify*` checks the signature before parsing.
 * Integers are u64 and therefore `bigint`.
 */

import { concat, isWellFormed, u16be, u64be, utf8Decode, utf8Encode } from './bytes.js';
import { fail } from './errors.js';
import { ed25519Sign, verifySignature } from './keys.js';

const ID_MAGIC = utf8Encode('lyt-id/1');
const SHIFT_MAGIC = utf8Encode('lyt-shift/1');
const OFFICE_MAGIC = utf8Encode('lyt-office/1');
const SIG_LEN = 64;

/** Maximum alias length in UTF-8 bytes. */
export const MAX_ALIAS_LEN = 64;
/** Maximum office id length (ASCII `A–Z a–z 0–9 - _ .`). */
export const MAX_OFFICE_ID_LEN = 64;
/** Maximum office display name length in UTF-8 bytes. */
export const MAX_OFFICE_NAME_LEN = 128;

/** Role byte of an identity certificate: 1 counsellor, 2 supervisor. */
export type Role = 1 | 2;
/** Kind byte of an office certificate: 1 brobygger office, 2 phone desk. */
export type OfficeKind = 1 | 2;

/** An identity certificate body: the org root vouches for a counsellor's Ed25519 key. */
export interface IdCert {
  /** Counsellor (1) or supervisor (2). */
  readonly role: Role;
  /** The name shown to visitors: 1–64 bytes of UTF-8, no control characters. */
  readonly alias: string;
  /** The counsellor identity public key (signs shift certificates and referrals). */
  readonly idPub: Uint8Array;
  /** Start of validity, Unix seconds. */
  readonly notBefore: bigint;
  /** End of validity, Unix seconds (strictly after `notBefore`). */
  readonly notAfter: bigint;
  /** Issuer-chosen serial number. */
  readonly serial: bigint;
}

/** A shift certificate body: a counsellor identity vouches for a ≤ 12 h X25519 shift key. */
export interface ShiftCert {
  /** The Noise responder static key for this shift. */
  readonly shiftPub: Uint8Array;
  /** Start of validity, Unix seconds. */
  readonly notBefore: bigint;
  /** End of validity, Unix seconds (strictly after `notBefore`). */
  readonly notAfter: bigint;
  /** Issuer-chosen serial number. */
  readonly serial: bigint;
}

/** An office certificate body: the org root vouches for an office's HPKE recipient key. */
export interface OfficeCert {
  /** Brobygger office (1) or phone desk (2). */
  readonly kind: OfficeKind;
  /** Stable id, 1–64 of `A–Z a–z 0–9 - _ .`; bound into HPKE `info` and referral signatures. */
  readonly officeId: string;
  /** The name shown to people: 1–128 bytes of UTF-8, no control characters. */
  readonly displayName: string;
  /** The X25519 HPKE recipient public key. */
  readonly recipientPub: Uint8Array;
  /** Start of validity, Unix seconds. */
  readonly notBefore: bigint;
  /** End of validity, Unix seconds (strictly after `notBefore`). */
  readonly notAfter: bigint;
}

/** A bounds-checked cursor over untrusted certificate bytes. */
class Reader {
  private at: number;
  constructor(private readonly body: Uint8Array, magic: Uint8Array) {
    const head = body.subarray(0, magic.length);
    if (head.length !== magic.length || !head.every((b, i) => b === magic[i])) {
      throw fail('cert_format', 'malformed certificate: wrong magic (not this kind of certificate)');
    }
    this.at = magic.length;
  }
  take(n: number): Uint8Array {
    if (this.body.length - this.at < n) throw fail('cert_format', 'malformed certificate: truncated');
    const out = this.body.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0] ?? 0;
  }
  u64(): bigint {
    return new DataView(this.take(8).buffer).getBigUint64(0, false);
  }
  string(): string {
    const lenBytes = this.take(2);
    const text = utf8Decode(this.take(((lenBytes[0] ?? 0) << 8) | (lenBytes[1] ?? 0)));
    if (text === undefined) throw fail('cert_format', 'malformed certificate: string is not UTF-8');
    return text;
  }
  finish(): void {
    if (this.at !== this.body.length) throw fail('cert_format', 'malformed certificate: trailing bytes');
  }
}

function checkWindow(notBefore: bigint, notAfter: bigint): void {
  if (notAfter <= notBefore) throw fail('cert_format', 'malformed certificate: not_after is not after not_before');
}

/** Rust's `char::is_control` is Unicode general category Cc. */
function checkDisplay(s: string, max: number, what: string): void {
  if (s.length === 0 || !isWellFormed(s) || utf8Encode(s).length > max || /\p{Cc}/u.test(s)) {
    throw fail('cert_format', `malformed certificate: ${what}`);
  }
}

function checkOfficeId(id: string): void {
  if (id.length === 0 || id.length > MAX_OFFICE_ID_LEN || !/^[A-Za-z0-9._-]+$/.test(id)) {
    throw fail('cert_format', 'malformed certificate: bad office id');
  }
}

function str(s: string): Uint8Array {
  const bytes = utf8Encode(s);
  return concat(u16be(bytes.length), bytes);
}

function key32(key: Uint8Array, what: string): Uint8Array {
  if (key.length !== 32) throw fail('cert_format', `malformed certificate: ${what} must be 32 bytes`);
  return key;
}

function splitSigned(cert: Uint8Array): { body: Uint8Array; sig: Uint8Array } {
  if (cert.length < SIG_LEN) throw fail('cert_format', 'malformed certificate: shorter than a signature');
  return { body: cert.subarray(0, cert.length - SIG_LEN), sig: cert.subarray(cert.length - SIG_LEN) };
}

/** The identity certificate body (what the org root signs); refuses out-of-bounds fields. */
export function encodeIdCertBody(c: IdCert): Uint8Array {
  checkDisplay(c.alias, MAX_ALIAS_LEN, 'bad alias');
  checkWindow(c.notBefore, c.notAfter);
  return concat(ID_MAGIC, Uint8Array.of(c.role), str(c.alias), key32(c.idPub, 'id_pub'),
    u64be(c.notBefore), u64be(c.notAfter), u64be(c.serial));
}

/** The shift certificate body (what the counsellor identity signs). */
export function encodeShiftCertBody(c: ShiftCert): Uint8Array {
  checkWindow(c.notBefore, c.notAfter);
  return concat(SHIFT_MAGIC, key32(c.shiftPub, 'shift_pub'), u64be(c.notBefore), u64be(c.notAfter), u64be(c.serial));
}

/** The office certificate body (what the org root signs); refuses out-of-bounds fields. */
export function encodeOfficeCertBody(c: OfficeCert): Uint8Array {
  checkOfficeId(c.officeId);
  checkDisplay(c.displayName, MAX_OFFICE_NAME_LEN, 'bad office name');
  checkWindow(c.notBefore, c.notAfter);
  return concat(OFFICE_MAGIC, Uint8Array.of(c.kind), str(c.officeId), str(c.displayName),
    key32(c.recipientPub, 'recipient_pub'), u64be(c.notBefore), u64be(c.notAfter));
}

/** `body ‖ Ed25519(seed, body)`: a signed certificate. */
export function signCert(body: Uint8Array, signerSeed: Uint8Array): Uint8Array {
  return concat(body, ed25519Sign(signerSeed, body));
}

/** Parses an identity certificate's structure only; the signature is NOT checked. */
export function parseIdCert(cert: Uint8Array): IdCert {
  const r = new Reader(splitSigned(cert).body, ID_MAGIC);
  const role = r.u8();
  if (role !== 1 && role !== 2) throw fail('cert_format', 'malformed certificate: unknown role');
  const alias = r.string();
  checkDisplay(alias, MAX_ALIAS_LEN, 'bad alias');
  const out: IdCert = { role, alias, idPub: r.take(32), notBefore: r.u64(), notAfter: r.u64(), serial: r.u64() };
  r.finish();
  checkWindow(out.notBefore, out.notAfter);
  return out;
}

/** Parses a shift certificate's structure only; the signature is NOT checked. */
export function parseShiftCert(cert: Uint8Array): ShiftCert {
  const r = new Reader(splitSigned(cert).body, SHIFT_MAGIC);
  const out: ShiftCert = { shiftPub: r.take(32), notBefore: r.u64(), notAfter: r.u64(), serial: r.u64() };
  r.finish();
  checkWindow(out.notBefore, out.notAfter);
  return out;
}

/** Parses an office certificate's structure only; the signature is NOT checked. */
export function parseOfficeCert(cert: Uint8Array): OfficeCert {
  const r = new Reader(splitSigned(cert).body, OFFICE_MAGIC);
  const kind = r.u8();
  if (kind !== 1 && kind !== 2) throw fail('cert_format', 'malformed certificate: unknown office kind');
  const officeId = r.string();
  checkOfficeId(officeId);
  const displayName = r.string();
  checkDisplay(displayName, MAX_OFFICE_NAME_LEN, 'bad office name');
  const out: OfficeCert = { kind, officeId, displayName, recipientPub: r.take(32), notBefore: r.u64(), notAfter: r.u64() };
  r.finish();
  checkWindow(out.notBefore, out.notAfter);
  return out;
}

function checkSignature(cert: Uint8Array, signer: Uint8Array, what: string): void {
  const { body, sig } = splitSigned(cert);
  verifySignature(signer, body, sig, what);
}

/** Checks the org root's signature, then parses an identity certificate. No time check. */
export function verifyIdCert(cert: Uint8Array, rootPub: Uint8Array): IdCert {
  checkSignature(cert, rootPub, 'identity certificate');
  return parseIdCert(cert);
}

/** Checks the identity key's signature, then parses a shift certificate. No time check. */
export function verifyShiftCert(cert: Uint8Array, idPub: Uint8Array): ShiftCert {
  checkSignature(cert, idPub, 'shift certificate');
  return parseShiftCert(cert);
}

/** Checks the org root's signature, then parses an office certificate. No time check. */
export function verifyOfficeCertSignature(cert: Uint8Array, rootPub: Uint8Array): OfficeCert {
  checkSignature(cert, rootPub, 'office certificate');
  return parseOfficeCert(cert);
}
