import { describe, expect, it } from 'vitest';
import { ed25519Sign } from '../src/proto/keys.js';
import { buildReferralPlaintext, openReferralPlaintext, signReferralPlaintext } from '../src/proto/referral.js';
import { b64, errorCode, loadVector, utf8 } from './vectors.js';

const seals = loadVector<{
  org_root_public: string;
  referral: { office_id: string; referral_id: string; r: string; id_cert: string; plaintext: string };
}>('hpke_seals.json');
const certs = loadVector<{ now: number; counsellor: { identity_secret: string; id_cert: { not_after: number } } }>('certs.json');
const r = seals.referral;
const root = b64(seals.org_root_public);
const id = b64(r.referral_id);

describe('referral inner plaintext', () => {
  /** Signing R with the counsellor's identity key reproduces Rust's plaintext byte for byte. */
  it('builds the vector plaintext exactly', () => {
    const built = buildReferralPlaintext(b64(certs.counsellor.identity_secret), b64(r.id_cert), r.office_id, id, utf8(r.r));
    expect(new TextDecoder().decode(built)).toBe(r.plaintext);
  });

  /** Signing through a signer (the console's non-extractable key) gives the same bytes; a signer that gives no signature is refused. */
  it('signs through a signer exactly as with the seed', async () => {
    const seed = b64(certs.counsellor.identity_secret);
    const built = await signReferralPlaintext((m) => Promise.resolve(ed25519Sign(seed, m)), b64(r.id_cert), r.office_id, id, utf8(r.r));
    expect(new TextDecoder().decode(built)).toBe(r.plaintext);
    await expect(signReferralPlaintext(() => Promise.resolve(new Uint8Array(3)), b64(r.id_cert), r.office_id, id, utf8(r.r))).rejects.toThrow();
  });

  /** It opens for its office and id at a time inside the identity window, and nowhere else. */
  it('opens and binds office, id, root and time', () => {
    const pt = utf8(r.plaintext);
    const opened = openReferralPlaintext(root, r.office_id, id, pt, certs.now);
    expect(new TextDecoder().decode(opened.body)).toBe(r.r);
    expect(opened.signer.alias).toBe('Maja');
    expect(errorCode(() => openReferralPlaintext(root, 'kbh-syd', id, pt, certs.now))).toBe('bad_signature');
    expect(errorCode(() => openReferralPlaintext(root, r.office_id, id.map((b) => b ^ 1), pt, certs.now))).toBe('bad_signature');
    expect(errorCode(() => openReferralPlaintext(b64(r.id_cert).subarray(11, 43), r.office_id, id, pt, certs.now))).toBe('bad_signature');
    expect(errorCode(() => openReferralPlaintext(root, r.office_id, id, pt, certs.counsellor.id_cert.not_after + 301))).toBe('expired');
  });

  /** A changed body, extra fields or malformed JSON are refused. */
  it('refuses altered envelopes', () => {
    const env = JSON.parse(r.plaintext) as Record<string, string>;
    const forged = { ...env, body: Buffer.from('{ }').toString('base64url') };
    expect(errorCode(() => openReferralPlaintext(root, r.office_id, id, utf8(JSON.stringify(forged)), certs.now))).toBe('bad_signature');
    for (const bad of [{ ...env, x: 'AA' }, { body: env['body'], sig: env['sig'] }, { ...env, sig: 'AAAA' }]) {
      expect(errorCode(() => openReferralPlaintext(root, r.office_id, id, utf8(JSON.stringify(bad)), certs.now))).toBe('referral');
    }
    expect(errorCode(() => openReferralPlaintext(root, r.office_id, id, utf8('not json'), certs.now))).toBe('referral');
  });
});
