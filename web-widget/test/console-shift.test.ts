/** Shift keys: a fresh bundle the org root vouches for, inside the identity window, and the responder handshake with it. */

import { describe, expect, it } from 'vitest';
import { b64Decode, b64Encode, ed25519Public, encodeIdCertBody, Initiator, parseShiftCert, prologue, signCert, verifyBundle } from '../src/proto/index.js';
import { generateIdentity, loadOrCreateIdentity, signerOf } from '../src/console/identity.js';
import type { IdentityStore, StoredIdentity } from '../src/console/identity.js';
import { startShift } from '../src/console/shift.js';
import { identity, NOW } from './console-fixtures.js';

describe('startShift', () => {
  /** The bundle verifies against the org root, lasts 12 hours and names the identity's alias. */
  it('makes a verifiable 12-hour bundle', async () => {
    const id = identity();
    const shift = await startShift(id.signer, id.idCert, id.root, NOW);
    const verified = verifyBundle(id.root, shift.bundle, NOW);
    expect(verified.alias).toBe('Maja');
    expect(verified.shift.notAfter - verified.shift.notBefore).toBe(12n * 3600n);
    expect(shift.bundleHash).toEqual(verified.bundleHash);
  });

  /** Every shift has its own key. */
  it('uses a new key each time', async () => {
    const id = identity();
    const a = parseShiftCert(b64Decode((await startShift(id.signer, id.idCert, id.root, NOW)).bundle.shift_cert));
    const b = parseShiftCert(b64Decode((await startShift(id.signer, id.idCert, id.root, NOW)).bundle.shift_cert));
    expect(a.shiftPub).not.toEqual(b.shiftPub);
  });

  /** A shift near the end of the identity certificate ends with it. */
  it('stays inside the identity window', async () => {
    const id = identity();
    const late = NOW + 90 * 86_400 - 3600;
    const shift = await startShift(id.signer, id.idCert, id.root, late);
    expect(parseShiftCert(b64Decode(shift.bundle.shift_cert)).notAfter).toBe(BigInt(NOW + 90 * 86_400));
  });

  /** A certificate for another key, or one the root did not sign, is refused. */
  it('refuses a certificate that does not fit', async () => {
    const a = identity();
    const b = identity();
    await expect(startShift(a.signer, b.idCert, b.root, NOW)).rejects.toThrow(/another key/);
    await expect(startShift(a.signer, a.idCert, b.root, NOW)).rejects.toThrow();
  });

  /** A visitor who verified the bundle completes the handshake; both sides show the same safety code. */
  it('answers the visitor handshake', async () => {
    const id = identity();
    const shift = await startShift(id.signer, id.idCert, id.root, NOW);
    const conv = b64Encode(new Uint8Array(16).fill(3));
    const v = verifyBundle(id.root, shift.bundle, NOW);
    const { initiator, msg1 } = Initiator.start(v.shiftPub, prologue(b64Decode(conv), v.bundleHash));
    const { session, hs2 } = shift.respond(conv, b64Encode(msg1));
    const visitor = initiator.readMessage2(b64Decode(hs2));
    expect(visitor.safetyCode).toBe(session.safetyCode);
    shift.wipe();
    expect(() => shift.respond(conv, b64Encode(msg1))).toThrow(/ended/);
  });
});

describe('identity keys', () => {
  /** Without WebCrypto Ed25519 the noble fallback signs with a stored seed. */
  it('falls back to noble', async () => {
    const made = await generateIdentity(null);
    expect(made.kind).toBe('noble');
    const rootSeed = crypto.getRandomValues(new Uint8Array(32));
    const idCert = signCert(encodeIdCertBody({
      role: 1, alias: 'Ali', idPub: made.publicKey, notBefore: BigInt(NOW - 60), notAfter: BigInt(NOW + 86_400), serial: 2n,
    }), rootSeed);
    const shift = await startShift(signerOf(made), idCert, ed25519Public(rootSeed), NOW);
    expect(verifyBundle(ed25519Public(rootSeed), shift.bundle, NOW).alias).toBe('Ali');
  });

  /** With WebCrypto Ed25519 (Node has it) the key is a non-extractable CryptoKey whose signatures verify strictly. */
  it('uses non-extractable WebCrypto keys where available', async () => {
    const made = await generateIdentity();
    expect(made.kind).toBe('webcrypto');
    if (made.kind !== 'webcrypto') return;
    expect(made.privateKey.extractable).toBe(false);
    const sig = await signerOf(made).sign(new Uint8Array([1, 2, 3]));
    const { verifyStrict } = await import('../src/proto/index.js');
    expect(verifyStrict(made.publicKey, new Uint8Array([1, 2, 3]), sig)).toBe(true);
  });

  /** The same account gets its stored key back; `fresh` replaces it. */
  it('keeps one key per account', async () => {
    const map = new Map<string, StoredIdentity>();
    const store: IdentityStore = { get: (u) => Promise.resolve(map.get(u)), put: (u, i) => { map.set(u, i); return Promise.resolve(); } };
    const first = await loadOrCreateIdentity(store, 'maja');
    const again = await loadOrCreateIdentity(store, 'maja');
    const fresh = await loadOrCreateIdentity(store, 'maja', true);
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.signer.publicKey).toEqual(first.signer.publicKey);
    expect(fresh.signer.publicKey).not.toEqual(first.signer.publicKey);
  });
});
