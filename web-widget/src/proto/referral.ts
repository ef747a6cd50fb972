/**
 * The inner plaintext of a referral envelope (PROTOCOL.md §4), as Rust's `referral.rs`:
 * `{"body": b64(R), "sig": b64, "id_cert": b64}`, where `sig` is the counsellor identity's
 * Ed25519 signature over `"lyt/1 referral" ‖ office_id ‖ referral_id ‖ SHA-256(R)`. Signing the
 * exact bytes of `R` avoids any JSON canonicalisation.
 */

import { b64Decode, b64DecodeExact, b64Encode } from './b64.js';
import { utf8Decode, utf8Encode } from './bytes.js';
import { CLOCK_SKEW_SECS } from './bundle.js';
import { verifyIdCert } from './cert.js';
import type { IdCert } from './cert.js';
import { fail } from './errors.js';
import { isObject, jsonString, parseStrictJson } from './json.js';
import { ed25519Sign, verifySignature } from './keys.js';
import { referralSignatureMessage } from './seal.js';

/** A referral whose identity certificate and signature verified. */
export interface OpenedReferral {
  /** `R`, the referral JSON, exactly as signed. */
  readonly body: Uint8Array;
  /** The verified identity certificate of the counsellor who signed it. */
  readonly signer: IdCert;
}

/** Signs a message with a counsellor identity key (a WebCrypto key or a seed); the secret stays with the signer. */
export type ReferralSigner = (message: Uint8Array) => Promise<Uint8Array>;

function innerJson(r: Uint8Array, sig: Uint8Array, idCert: Uint8Array): Uint8Array {
  if (sig.length !== 64) throw fail('referral', 'the identity key gave no Ed25519 signature');
  const fields = [['body', r], ['sig', sig], ['id_cert', idCert]] as const;
  return utf8Encode(`{${fields.map(([k, v]) => `${jsonString(k)}:${jsonString(b64Encode(v))}`).join(',')}}`);
}

/** Builds the inner plaintext: signs `r` with the counsellor identity seed and attaches `id_cert`. */
export function buildReferralPlaintext(
  identitySeed: Uint8Array,
  idCert: Uint8Array,
  officeId: string,
  referralId: Uint8Array,
  r: Uint8Array,
): Uint8Array {
  return innerJson(r, ed25519Sign(identitySeed, referralSignatureMessage(officeId, referralId, r)), idCert);
}

/**
 * As {@link buildReferralPlaintext}, signing through `sign` (the console's identity key,
 * which never leaves WebCrypto): the same message, so the same bytes for the same key.
 */
export async function signReferralPlaintext(
  sign: ReferralSigner,
  idCert: Uint8Array,
  officeId: string,
  referralId: Uint8Array,
  r: Uint8Array,
): Promise<Uint8Array> {
  return innerJson(r, await sign(referralSignatureMessage(officeId, referralId, r)), idCert);
}

/** Parses `{"body","sig","id_cert"}` strictly; throws `referral`. */
function parseEnvelope(plaintext: Uint8Array): { body: Uint8Array; sig: Uint8Array; idCert: Uint8Array } {
  const notInner = () => fail('referral', 'invalid referral envelope: not the inner JSON');
  try {
    const text = utf8Decode(plaintext);
    const v = text === undefined ? undefined : parseStrictJson(text);
    if (!isObject(v)) throw notInner();
    const keys = Object.keys(v).sort().join(',');
    const { body, sig, id_cert: idCert } = v;
    if (keys !== 'body,id_cert,sig' || typeof body !== 'string' || typeof sig !== 'string' || typeof idCert !== 'string') {
      throw notInner();
    }
    return { body: b64Decode(body), sig: b64DecodeExact(sig, 64), idCert: b64Decode(idCert) };
  } catch {
    throw notInner();
  }
}

/**
 * Parses the inner plaintext, verifies the identity certificate against the org root (valid at
 * `nowUnix` ± 300 s — an office passes the referral's `created_at`) and the signature binding
 * `officeId` and `referralId`.
 */
export function openReferralPlaintext(
  orgRootPub: Uint8Array,
  officeId: string,
  referralId: Uint8Array,
  plaintext: Uint8Array,
  nowUnix: number | bigint,
): OpenedReferral {
  const envelope = parseEnvelope(plaintext);
  const signer = verifyIdCert(envelope.idCert, orgRootPub);
  const now = BigInt(nowUnix);
  if (now + CLOCK_SKEW_SECS < signer.notBefore) throw fail('not_yet_valid', 'identity certificate is not valid yet');
  if (now > signer.notAfter + CLOCK_SKEW_SECS) throw fail('expired', 'identity certificate has expired');
  verifySignature(signer.idPub, referralSignatureMessage(officeId, referralId, envelope.body), envelope.sig, 'referral');
  return { body: envelope.body, signer };
}
