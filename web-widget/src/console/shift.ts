/**
 * A shift key (PROTOCOL.md §1): a fresh X25519 key made at every shift start or console
 * reload, held in memory only, with its ShiftCert signed by the identity key. The bundle
 * is verified against the org root before it is used, so the console never goes on duty
 * with a bundle the relay or a visitor would refuse.
 */

import {
  b64Decode, b64Encode, encodeShiftCertBody, MAX_SHIFT_SECS, parseIdCert, prologue, respondHandshake, verifyBundle,
  x25519Public,
} from '../proto/index.js';
import type { Session, WireBundle } from '../proto/index.js';
import type { IdentitySigner } from './identity.js';

/** A shift: the responder static key and the bundle vouching for it. */
export class Shift {
  private secret: Uint8Array | undefined;

  /** @internal Made by {@link startShift}. */
  constructor(secret: Uint8Array, readonly bundle: WireBundle, readonly bundleHash: Uint8Array, readonly notAfter: number) {
    this.secret = secret;
  }

  /** The counsellor's half of the handshake: reads `hs1` for `conv`, returns the session and `hs2`. */
  respond(conv: string, hs1: string): { session: Session; hs2: string } {
    if (this.secret === undefined) throw new Error('shift ended');
    const { session, msg2 } = respondHandshake(this.secret, prologue(b64Decode(conv), this.bundleHash), b64Decode(hs1));
    return { session, hs2: b64Encode(msg2) };
  }

  /** Forgets the shift key (end of shift, log out). */
  wipe(): void {
    this.secret?.fill(0);
    this.secret = undefined;
  }
}

function randomSerial(): bigint {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return new DataView(b.buffer).getBigUint64(0, false);
}

/**
 * Starts a shift at `nowUnix`: a new X25519 key and a ShiftCert valid from now for 12 hours
 * (or until the identity certificate ends, if sooner), signed by `signer`. Throws if the
 * identity certificate is not for this key or the bundle does not verify against `orgRoot`.
 */
export async function startShift(signer: IdentitySigner, idCert: Uint8Array, orgRoot: Uint8Array, nowUnix: number): Promise<Shift> {
  const id = parseIdCert(idCert);
  if (!id.idPub.every((b, i) => b === signer.publicKey[i])) throw new Error('the identity certificate is for another key');
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const now = BigInt(nowUnix);
  const notBefore = now < id.notBefore ? id.notBefore : now;
  const end = notBefore + MAX_SHIFT_SECS;
  const notAfter = end > id.notAfter ? id.notAfter : end;
  const body = encodeShiftCertBody({ shiftPub: x25519Public(secret), notBefore, notAfter, serial: randomSerial() });
  const sig = await signer.sign(body);
  const shiftCert = new Uint8Array(body.length + sig.length);
  shiftCert.set(body);
  shiftCert.set(sig, body.length);
  const bundle: WireBundle = { id_cert: b64Encode(idCert), shift_cert: b64Encode(shiftCert) };
  const verified = verifyBundle(orgRoot, bundle, nowUnix);
  return new Shift(secret, bundle, verified.bundleHash, Number(notAfter));
}
