import { describe, expect, it } from 'vitest';
import { b64Encode } from '../src/proto/b64.js';
import { verifyBundle, verifyOfficeCert } from '../src/proto/bundle.js';
import {
  encodeIdCertBody, encodeOfficeCertBody, encodeShiftCertBody, parseIdCert, signCert, verifyIdCert,
  type OfficeKind, type Role,
} from '../src/proto/cert.js';
import { ed25519Public, fingerprint, x25519Public } from '../src/proto/keys.js';
import { b64, errorCode, loadVector } from './vectors.js';

interface Window { not_before: number; not_after: number; serial: number }
interface Certs {
  now: number;
  org_root: { secret: string; public: string; fingerprint: string };
  counsellor: {
    identity_secret: string; identity_public: string; shift_secret: string; shift_public: string;
    alias: string; role: number; id_cert: Window; shift_cert: Window;
    bundle: { id_cert: string; shift_cert: string }; bundle_hash: string;
  };
  office: {
    recipient_secret: string; recipient_public: string; kind: number; office_id: string;
    display_name: string; not_before: number; not_after: number; cert: string;
  };
  invalid_bundles: { name: string; bundle: { id_cert: string; shift_cert: string }; now: number; error: string }[];
}

const v = loadVector<Certs>('certs.json');
const root = b64(v.org_root.public);
const c = v.counsellor;

describe('certs.json', () => {
  /** Keys derive from the vector's secrets and the fingerprint matches Rust's. */
  it('derives the keys and the root fingerprint', () => {
    expect(ed25519Public(b64(v.org_root.secret))).toEqual(root);
    expect(ed25519Public(b64(c.identity_secret))).toEqual(b64(c.identity_public));
    expect(x25519Public(b64(c.shift_secret))).toEqual(b64(c.shift_public));
    expect(x25519Public(b64(v.office.recipient_secret))).toEqual(b64(v.office.recipient_public));
    expect(fingerprint(root)).toBe(v.org_root.fingerprint);
  });

  /** Encoding and signing what Rust encoded gives the same certificate bytes. */
  it('encodes and signs byte-identical certificates', () => {
    const idBody = encodeIdCertBody({
      role: c.role as Role, alias: c.alias, idPub: b64(c.identity_public),
      notBefore: BigInt(c.id_cert.not_before), notAfter: BigInt(c.id_cert.not_after), serial: BigInt(c.id_cert.serial),
    });
    expect(b64Encode(signCert(idBody, b64(v.org_root.secret)))).toBe(c.bundle.id_cert);
    const shiftBody = encodeShiftCertBody({
      shiftPub: b64(c.shift_public), notBefore: BigInt(c.shift_cert.not_before),
      notAfter: BigInt(c.shift_cert.not_after), serial: BigInt(c.shift_cert.serial),
    });
    expect(b64Encode(signCert(shiftBody, b64(c.identity_secret)))).toBe(c.bundle.shift_cert);
    const o = v.office;
    const officeBody = encodeOfficeCertBody({
      kind: o.kind as OfficeKind, officeId: o.office_id, displayName: o.display_name,
      recipientPub: b64(o.recipient_public), notBefore: BigInt(o.not_before), notAfter: BigInt(o.not_after),
    });
    expect(b64Encode(signCert(officeBody, b64(v.org_root.secret)))).toBe(o.cert);
  });

  /** The vector bundle verifies at `now` and yields alias, role, shift key and bundle hash. */
  it('verifies the bundle', () => {
    const vb = verifyBundle(root, c.bundle, v.now);
    expect(vb.alias).toBe(c.alias);
    expect(vb.role).toBe(c.role);
    expect(vb.shiftPub).toEqual(b64(c.shift_public));
    expect(b64Encode(vb.bundleHash)).toBe(c.bundle_hash);
    expect(vb.id.serial).toBe(BigInt(c.id_cert.serial));
  });

  /** The office certificate verifies and parses to the vector's fields. */
  it('verifies the office certificate', () => {
    const office = verifyOfficeCert(root, b64(v.office.cert), v.now);
    expect(office.officeId).toBe(v.office.office_id);
    expect(office.displayName).toBe(v.office.display_name);
    expect(office.kind).toBe(v.office.kind);
    expect(office.recipientPub).toEqual(b64(v.office.recipient_public));
    expect(errorCode(() => verifyOfficeCert(root, b64(v.office.cert), v.office.not_after + 301))).toBe('expired');
    expect(errorCode(() => verifyOfficeCert(b64(c.identity_public), b64(v.office.cert), v.now))).toBe('bad_signature');
  });

  /** Every invalid bundle is refused with the error Rust names. */
  it.each(v.invalid_bundles)('refuses $name with $error', (bad) => {
    expect(errorCode(() => verifyBundle(root, bad.bundle, bad.now))).toBe(bad.error);
  });

  /** The ±300 s skew is inclusive at both ends, for identity and shift windows alike. */
  it('applies the skew window inclusively', () => {
    const s = c.shift_cert;
    expect(() => verifyBundle(root, c.bundle, s.not_before - 300)).not.toThrow();
    expect(errorCode(() => verifyBundle(root, c.bundle, s.not_before - 301))).toBe('not_yet_valid');
    expect(() => verifyBundle(root, c.bundle, s.not_after + 300)).not.toThrow();
    expect(errorCode(() => verifyBundle(root, c.bundle, s.not_after + 301))).toBe('expired');
  });

  /** Any truncation, extension or bit flip of a certificate is refused. */
  it('refuses every truncation, extension and bit flip', () => {
    const cert = b64(c.bundle.id_cert);
    expect(verifyIdCert(cert, root).alias).toBe(c.alias);
    for (let cut = 0; cut < cert.length; cut++) expect(() => verifyIdCert(cert.subarray(0, cut), root)).toThrow();
    expect(() => verifyIdCert(Uint8Array.from([...cert, 0]), root)).toThrow();
    for (let i = 0; i < cert.length * 8; i++) {
      const bad = cert.slice();
      bad[i >> 3]! ^= 1 << (i & 7);
      expect(() => verifyIdCert(bad, root), `bit ${i}`).toThrow();
    }
  });

  /** Bounds of alias, office id and display name are enforced on encode and on parse. */
  it('enforces string bounds', () => {
    const base = { role: 1 as Role, idPub: new Uint8Array(32), notBefore: 1n, notAfter: 2n, serial: 0n };
    expect(() => encodeIdCertBody({ ...base, alias: 'x'.repeat(64) })).not.toThrow();
    for (const alias of ['x'.repeat(65), '', 'a\nb', 'a\u0085b', 'ø'.repeat(33), '\ud800']) {
      expect(errorCode(() => encodeIdCertBody({ ...base, alias }))).toBe('cert_format');
    }
    expect(errorCode(() => encodeIdCertBody({ ...base, alias: 'a', notAfter: 1n }))).toBe('cert_format');
    const office = { kind: 1 as OfficeKind, displayName: 'Brobygger', recipientPub: new Uint8Array(32), notBefore: 1n, notAfter: 2n };
    expect(() => encodeOfficeCertBody({ ...office, officeId: 'kbh-1._Z' })).not.toThrow();
    for (const officeId of ['kbh 1', 'kbh/1', 'ø', '', 'x'.repeat(65)]) {
      expect(errorCode(() => encodeOfficeCertBody({ ...office, officeId }))).toBe('cert_format');
    }
    // Trailing bytes inside a signed body are refused even with a valid signature.
    const body = encodeIdCertBody({ ...base, alias: 'Maja' });
    const seed = b64(v.org_root.secret);
    const trailing = signCert(Uint8Array.from([...body, 0]), seed);
    expect(errorCode(() => verifyIdCert(trailing, root))).toBe('cert_format');
    // An unknown role byte is refused.
    const role3 = body.slice();
    role3[8] = 3;
    expect(errorCode(() => parseIdCert(signCert(role3, seed)))).toBe('cert_format');
  });
});
