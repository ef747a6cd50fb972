import { describe, expect, it } from 'vitest';
import { b64Encode } from '../src/proto/b64.js';
import { verifyBundle } from '../src/proto/bundle.js';
import { toHex } from '../src/proto/bytes.js';
import { verifyIdCert } from '../src/proto/cert.js';
import { computeNonce, decap, deriveKeyPair, encap, exportSecret, keySchedule } from '../src/proto/hpke.js';
import { verifyStrict, x25519Public } from '../src/proto/keys.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import {
  openCallback, openReferral, referralInfo, referralSignatureMessage, sealCallback, sealReferral,
  sealedFromWire, sealedToWire,
} from '../src/proto/seal.js';
import { b64, errorCode, hex, loadVector, utf8 } from './vectors.js';

interface Rfc {
  info: string; ikmE: string; pkEm: string; skEm: string; ikmR: string; pkRm: string; skRm: string;
  enc: string; shared_secret: string; key_schedule_context: string; secret: string; key: string;
  base_nonce: string; exporter_secret: string;
  encryptions: { seq: number; aad: string; pt: string; nonce: string; ct: string }[];
  exports: { exporter_context: string; L: number; exported_value: string }[];
}
interface Seal { recipient_secret: string; recipient_public: string; info: string; aad: string; plaintext: string; ikm_e: string; sealed: { enc: string; ct: string } }
interface Seals {
  suite: { kem: number; kdf: number; aead: number; mode: number };
  org_root_public: string;
  referral: Seal & { office_id: string; referral_id: string; r: string; signature_message: string; signer_public: string; id_cert: string };
  callback: Seal & { request_id: string };
}

const rfc = loadVector<Rfc>('hpke_rfc9180_a21.json');
const seals = loadVector<Seals>('hpke_seals.json');

describe('RFC 9180 A.2.1 (DHKEM(X25519), HKDF-SHA256, ChaCha20-Poly1305, base mode)', () => {
  it('derives both key pairs from their seeds', () => {
    const e = deriveKeyPair(hex(rfc.ikmE));
    expect(toHex(e.secret)).toBe(rfc.skEm);
    expect(toHex(e.publicKey)).toBe(rfc.pkEm);
    const r = deriveKeyPair(hex(rfc.ikmR));
    expect(toHex(r.secret)).toBe(rfc.skRm);
    expect(toHex(r.publicKey)).toBe(rfc.pkRm);
  });

  it('encapsulates, decapsulates and runs the key schedule', () => {
    const { sharedSecret, enc } = encap(hex(rfc.pkRm), hex(rfc.ikmE));
    expect(toHex(enc)).toBe(rfc.enc);
    expect(toHex(sharedSecret)).toBe(rfc.shared_secret);
    expect(toHex(decap(hex(rfc.enc), hex(rfc.skRm)))).toBe(rfc.shared_secret);
    const ks = keySchedule(hex(rfc.shared_secret), hex(rfc.info));
    expect(toHex(ks.key)).toBe(rfc.key);
    expect(toHex(ks.baseNonce)).toBe(rfc.base_nonce);
    expect(toHex(ks.exporterSecret)).toBe(rfc.exporter_secret);
    for (const x of rfc.exports) {
      expect(toHex(exportSecret(ks, hex(x.exporter_context), x.L))).toBe(x.exported_value);
    }
  });

  it.each(rfc.encryptions)('seals and opens sequence $seq', (e) => {
    const ks = keySchedule(decap(hex(rfc.enc), hex(rfc.skRm)), hex(rfc.info));
    const nonce = computeNonce(ks.baseNonce, e.seq);
    expect(toHex(nonce)).toBe(e.nonce);
    expect(toHex(chacha20poly1305(ks.key, nonce, hex(e.aad)).encrypt(hex(e.pt)))).toBe(e.ct);
    expect(toHex(chacha20poly1305(ks.key, nonce, hex(e.aad)).decrypt(hex(e.ct)))).toBe(e.pt);
  });

  it('single-shot open of sequence 0 with skRm', async () => {
    const { open } = await import('../src/proto/seal.js');
    const e0 = rfc.encryptions.find((e) => e.seq === 0)!;
    const pt = open(hex(rfc.skRm), hex(rfc.info), hex(e0.aad), { enc: hex(rfc.enc), ct: hex(e0.ct) });
    expect(toHex(pt)).toBe(e0.pt);
  });
});

describe('hpke_seals.json (envelopes sealed by Rust)', () => {
  const r = seals.referral;
  const cb = seals.callback;

  it('uses suite 0x0020/0x0001/0x0003 in base mode', () => {
    expect(seals.suite).toEqual({ kem: 0x20, kdf: 1, aead: 3, mode: 0 });
    expect(x25519Public(b64(r.recipient_secret))).toEqual(b64(r.recipient_public));
  });

  it('reproduces and opens the referral envelope', () => {
    expect(referralInfo(r.office_id)).toEqual(b64(r.info));
    expect(b64(r.aad)).toEqual(b64(r.referral_id));
    const sealed = sealReferral(r.office_id, b64(r.recipient_public), b64(r.referral_id), utf8(r.plaintext), b64(r.ikm_e));
    expect(sealedToWire(sealed)).toEqual(r.sealed);
    const opened = openReferral(r.office_id, b64(r.recipient_secret), b64(r.referral_id), sealedFromWire(r.sealed));
    expect(new TextDecoder().decode(opened)).toBe(r.plaintext);
  });

  it('checks the referral signature and id_cert inside the envelope', () => {
    const inner = JSON.parse(r.plaintext) as { body: string; sig: string; id_cert: string };
    expect(new TextDecoder().decode(b64(inner.body))).toBe(r.r);
    expect(inner.id_cert).toBe(r.id_cert);
    const message = referralSignatureMessage(r.office_id, b64(r.referral_id), utf8(r.r));
    expect(b64Encode(message)).toBe(r.signature_message);
    expect(verifyStrict(b64(r.signer_public), message, b64(inner.sig))).toBe(true);
    const signer = verifyIdCert(b64(r.id_cert), b64(seals.org_root_public));
    expect(signer.idPub).toEqual(b64(r.signer_public));
    const other = referralSignatureMessage('kbh-syd', b64(r.referral_id), utf8(r.r));
    expect(verifyStrict(b64(r.signer_public), other, b64(inner.sig))).toBe(false);
  });

  it('reproduces and opens the callback envelope', () => {
    expect(b64(cb.info)).toEqual(utf8('lyt/1 callback'));
    const sealed = sealCallback(b64(cb.recipient_public), b64(cb.request_id), utf8(cb.plaintext), b64(cb.ikm_e));
    expect(sealedToWire(sealed)).toEqual(cb.sealed);
    const opened = openCallback(b64(cb.recipient_secret), b64(cb.request_id), sealedFromWire(cb.sealed));
    expect(new TextDecoder().decode(opened)).toBe(cb.plaintext);
  });

  /** An envelope opens only with the right key, office id, id and label, untampered. */
  it('binds key, office id, id and label', () => {
    const sealed = sealedFromWire(r.sealed);
    const sk = b64(r.recipient_secret);
    const id = b64(r.referral_id);
    expect(errorCode(() => openReferral('kbh-syd', sk, id, sealed))).toBe('open');
    expect(errorCode(() => openReferral(r.office_id, sk, id.map((b) => b ^ 1), sealed))).toBe('open');
    expect(errorCode(() => openReferral(r.office_id, b64(cb.recipient_secret), id, sealed))).toBe('open');
    expect(errorCode(() => openCallback(sk, id, sealed))).toBe('open');
    for (const field of ['enc', 'ct'] as const) {
      for (let i = 0; i < sealed[field].length * 8; i += 7) {
        const bad = { ...sealed, [field]: sealed[field].slice() };
        bad[field][i >> 3]! ^= 1 << (i & 7);
        expect(errorCode(() => openReferral(r.office_id, sk, id, bad)), `${field} bit ${i}`).toBe('open');
      }
    }
    expect(errorCode(() => openReferral(r.office_id, sk, id, { enc: new Uint8Array(32), ct: sealed.ct }))).toBe('open');
  });

  /** Sealing to a low-order key is refused; random seals round-trip. */
  it('refuses low-order recipients and round-trips random seals', () => {
    expect(errorCode(() => sealCallback(new Uint8Array(32), new Uint8Array(16), utf8('{}')))).toBe('seal');
    const desk = deriveKeyPair(crypto.getRandomValues(new Uint8Array(32)));
    const s1 = sealCallback(desk.publicKey, new Uint8Array(16), utf8('{}'));
    const s2 = sealCallback(desk.publicKey, new Uint8Array(16), utf8('{}'));
    expect(s1.enc).not.toEqual(s2.enc);
    expect(openCallback(desk.secret, new Uint8Array(16), s1)).toEqual(utf8('{}'));
  });

  it('the referral id_cert is the counsellor of certs.json', () => {
    const certs = loadVector<{ now: number; counsellor: { bundle: { id_cert: string; shift_cert: string } } }>('certs.json');
    expect(certs.counsellor.bundle.id_cert).toBe(r.id_cert);
    expect(verifyBundle(b64(seals.org_root_public), certs.counsellor.bundle, certs.now).alias).toBe('Maja');
  });
});
