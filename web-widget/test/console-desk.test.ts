/** The phone desk: key files as `lyt keys office-init` writes them, callback requests sealed by the widget opened here, identity certificates checked. */

import { describe, expect, it } from 'vitest';
import { b64Encode, ed25519Public, encodeIdCertBody, encodeOfficeCertBody, signCert, x25519Public } from '../src/proto/index.js';
import { checkDeskKey, DeskKeyError, openCallbackItem, parseDeskKeyFile } from '../src/console/desk.js';
import { checkIdCert } from '../src/console/enrol.js';
import { sealCallbackFrame } from '../src/widget/callback.js';
import { parseOfficeCert } from '../src/proto/index.js';
import { identity, NOW } from './console-fixtures.js';

const secret = crypto.getRandomValues(new Uint8Array(32));
/** Exactly Rust's `encode_key_file(KeyKind::X25519Secret, …)`. */
const keyFile = `# lyt X25519 secret key (decryption). Keep it secret.\nlyt-x25519-secret:${b64Encode(secret)}\n`;

function desk(pub: Uint8Array) {
  const rootSeed = crypto.getRandomValues(new Uint8Array(32));
  return parseOfficeCert(signCert(encodeOfficeCertBody({
    kind: 2, officeId: 'phone-desk', displayName: 'Phone desk', recipientPub: pub, notBefore: BigInt(NOW - 60), notAfter: BigInt(NOW + 3600),
  }), rootSeed));
}

describe('desk key file', () => {
  /** The Rust key file format reads back to its secret; CRLF and blank lines are fine. */
  it('reads the key file', () => {
    expect(parseDeskKeyFile(keyFile)).toEqual(secret);
    expect(parseDeskKeyFile(keyFile.replace(/\n/g, '\r\n') + '\n\n')).toEqual(secret);
  });

  /** Anything else is refused with a reason the counsellor can act on. */
  it('refuses other files', () => {
    const problem = (text: string): string => {
      try {
        parseDeskKeyFile(text);
        return 'accepted';
      } catch (e) {
        return e instanceof DeskKeyError ? e.problem : 'other';
      }
    };
    expect(problem(`lyt-ed25519-secret:${b64Encode(secret)}`)).toBe('wrong_kind');
    expect(problem('hello')).toBe('format');
    expect(problem(`lyt-x25519-secret:${b64Encode(secret.subarray(0, 31))}`)).toBe('format');
    expect(problem(`${keyFile}lyt-x25519-secret:${b64Encode(secret)}`)).toBe('format');
    expect(() => checkDeskKey(secret, x25519Public(crypto.getRandomValues(new Uint8Array(32))))).toThrow(DeskKeyError);
    expect(() => checkDeskKey(secret, x25519Public(secret))).not.toThrow();
  });
});

describe('callback requests', () => {
  /** A request the widget sealed to the desk opens here with the desk key, and only with it. */
  it('opens what the widget sealed', () => {
    const frame = sealCallbackFrame(desk(x25519Public(secret)), 'da/phone', { phone: '+45 12 34 56 78', when: 'after 18', language: 'da', voicemailOk: false, name: 'A' });
    const item = { id: frame.id, queue: frame.queue, sealed: frame.sealed, age_s: 3 };
    expect(openCallbackItem(secret, item)).toEqual({ phone: '+45 12 34 56 78', when: 'after 18', language: 'da', voicemailOk: false, name: 'A' });
    expect(() => openCallbackItem(crypto.getRandomValues(new Uint8Array(32)), item)).toThrow();
    const otherId = b64Encode(crypto.getRandomValues(new Uint8Array(16)));
    expect(() => openCallbackItem(secret, { ...item, id: otherId })).toThrow();
  });
});

describe('identity certificates', () => {
  /** The certificate must be the org's, for this key, and valid now. */
  it('checks the certificate', () => {
    const id = identity();
    const cert = b64Encode(id.idCert);
    expect(checkIdCert(cert, id.root, id.signer.publicKey, NOW)).toEqual(id.idCert);
    expect(checkIdCert(cert, identity().root, id.signer.publicKey, NOW)).toBeUndefined();
    expect(checkIdCert(cert, id.root, identity().signer.publicKey, NOW)).toBeUndefined();
    expect(checkIdCert(cert, id.root, id.signer.publicKey, NOW + 100 * 86_400)).toBeUndefined();
    const expired = signCert(encodeIdCertBody({ role: 1, alias: 'M', idPub: id.signer.publicKey, notBefore: 1n, notAfter: 2n, serial: 1n }), id.rootSeed);
    expect(checkIdCert(b64Encode(expired), ed25519Public(id.rootSeed), id.signer.publicKey, NOW)).toBeUndefined();
    expect(checkIdCert('not base64!', id.root, id.signer.publicKey, NOW)).toBeUndefined();
  });
});
