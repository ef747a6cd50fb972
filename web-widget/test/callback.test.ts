/** The callback request: the phone desk is found only among verified office certs, and the sealed request opens only for it. */

import { describe, expect, it } from 'vitest';
import { b64Decode, b64Encode, encodeOfficeCertBody, openCallback, sealedFromWire, signCert, x25519Public } from '../src/proto/index.js';
import { callbackPlaintext, findPhoneDesk, sealCallbackFrame } from '../src/widget/callback.js';
import { b64, loadVector } from './vectors.js';

interface Certs { now: number; org_root: { secret: string; public: string } }
const v = loadVector<Certs>('certs.json');
const rootSeed = b64(v.org_root.secret);
const root = b64(v.org_root.public);
const deskSecret = crypto.getRandomValues(new Uint8Array(32));

function office(kind: 1 | 2, seed = rootSeed, officeId = 'phone-desk'): string {
  const now = BigInt(v.now);
  return b64Encode(signCert(encodeOfficeCertBody({
    kind, officeId, displayName: 'Telefonen', recipientPub: x25519Public(deskSecret), notBefore: now - 3600n, notAfter: now + 3600n,
  }), seed));
}

describe('callback', () => {
  /** The desk is the first kind-2 cert that verifies; brobygger offices, forged certs and junk are skipped. */
  it('finds the phone desk', () => {
    const forged = office(2, crypto.getRandomValues(new Uint8Array(32)), 'evil');
    const desk = findPhoneDesk([42, 'not base64!', forged, office(1, rootSeed, 'bro'), office(2)], root, v.now);
    expect(desk?.officeId).toBe('phone-desk');
    expect(findPhoneDesk({ offices: [office(2)] }, root, v.now)?.kind).toBe(2);
    // The relay's own shape: objects whose `cert` is verified (the other fields are not trusted).
    const listed = { offices: [{ id: 'bro', kind: 'brobygger', name: 'x', cert: office(1, rootSeed, 'bro') }, { id: 'phone-desk', kind: 'phone_desk', name: 'Telefonen', cert: office(2) }] };
    expect(findPhoneDesk(listed, root, v.now)?.officeId).toBe('phone-desk');
    expect(findPhoneDesk({ offices: [{ kind: 'phone_desk', cert: 42 }] }, root, v.now)).toBeUndefined();
  });

  /** No endpoint, no desk, an expired desk: no form. */
  it('finds nothing when there is no desk', () => {
    expect(findPhoneDesk(undefined, root, v.now)).toBeUndefined();
    expect(findPhoneDesk({ code: 'not_found' }, root, v.now)).toBeUndefined();
    expect(findPhoneDesk([office(1)], root, v.now)).toBeUndefined();
    expect(findPhoneDesk([office(2)], root, v.now + 86_400)).toBeUndefined();
  });

  /** The frame carries only the envelope; the desk opens it with the request id as aad and reads the request. */
  it('seals to the desk', () => {
    const desk = findPhoneDesk([office(2)], root, v.now)!;
    const request = { phone: ' +45 12 34 56 78 ', when: 'after 18', language: 'da', voicemailOk: false, name: '' };
    const frame = sealCallbackFrame(desk, 'da/phone', request);
    const text = JSON.stringify(frame);
    expect(text).not.toContain('12 34');
    expect(Object.keys(frame).sort()).toEqual(['id', 'queue', 'sealed', 't']);
    const opened = openCallback(deskSecret, b64Decode(frame.id), sealedFromWire(frame.sealed));
    expect(JSON.parse(new TextDecoder().decode(opened))).toEqual({ phone: '+45 12 34 56 78', when: 'after 18', language: 'da', voicemail_ok: false });
    const otherId = crypto.getRandomValues(new Uint8Array(16));
    expect(() => openCallback(deskSecret, otherId, sealedFromWire(frame.sealed))).toThrow();
  });

  /** The optional name is included only when given. */
  it('includes a name when given', () => {
    const json = new TextDecoder().decode(callbackPlaintext({ phone: '1', when: 'now', language: 'en', voicemailOk: true, name: ' Rosa ' }));
    expect(JSON.parse(json)).toEqual({ phone: '1', when: 'now', language: 'en', voicemail_ok: true, name: 'Rosa' });
  });
});
