/**
 * The visitor's path through frames and crypto together, and SECURITY.md's key-substitution
 * matrix: every substituted key or chain is refused before any plaintext is shown.
 */

import { describe, expect, it } from 'vitest';
import {
  b64Decode, b64Encode, encodeFrame, encodeIdCertBody, encodeShiftCertBody, Initiator, parseServerFrame, prologue,
  receiveMessage, respondHandshake, sendMessage, signCert, verifyBundle, x25519Public,
  type WireBundle,
} from '../src/proto/index.js';
import { b64, errorCode, loadVector } from './vectors.js';

interface Certs {
  now: number;
  org_root: { secret: string; public: string };
  counsellor: { identity_secret: string; identity_public: string; shift_secret: string; bundle: WireBundle };
  office: { cert: string };
}
const v = loadVector<Certs>('certs.json');
const root = b64(v.org_root.public);
const conv = b64Encode(crypto.getRandomValues(new Uint8Array(16)));

/** A chain for a counsellor, issued by `rootSeed`, for `shiftSecret`, with a chosen serial. */
function chain(rootSeed: Uint8Array, idSeed: Uint8Array, idPub: Uint8Array, shiftSecret: Uint8Array, serial: bigint): WireBundle {
  const now = BigInt(v.now);
  const id = signCert(encodeIdCertBody({ role: 1, alias: 'Ali', idPub, notBefore: now - 86_400n, notAfter: now + 86_400n, serial }), rootSeed);
  const shift = signCert(encodeShiftCertBody({ shiftPub: x25519Public(shiftSecret), notBefore: now - 3600n, notAfter: now + 3600n, serial }), idSeed);
  return { id_cert: b64Encode(id), shift_cert: b64Encode(shift) };
}

/** The visitor's side of `assigned` → `hs1`; returns what the visitor would send and keep. */
function visitorStart(bundle: WireBundle) {
  const assigned = parseServerFrame(JSON.stringify({ t: 'assigned', conv, bundle, alias: 'x' }));
  if (assigned.t !== 'assigned') throw new Error('not assigned');
  const verified = verifyBundle(root, assigned.bundle, v.now);
  const p = prologue(b64Decode(assigned.conv), verified.bundleHash);
  return { ...Initiator.start(verified.shiftPub, p), verified };
}

/** The real counsellor answers with its own shift key and its own bundle in the prologue. */
function counsellorAnswer(msg1: Uint8Array) {
  const ours = verifyBundle(root, v.counsellor.bundle, v.now);
  return respondHandshake(b64(v.counsellor.shift_secret), prologue(b64Decode(conv), ours.bundleHash), msg1);
}

describe('visitor flow', () => {
  /** assigned → verify → hs1 → hs2 → hello → text → bye, through the frame encoder and validator. */
  it('runs a chat through frames', () => {
    const { initiator, msg1, verified } = visitorStart(v.counsellor.bundle);
    expect(verified.alias).toBe('Maja');
    const hs1 = JSON.parse(encodeFrame({ t: 'hs1', conv, m: b64Encode(msg1) })) as { m: string };
    const { session: counsellor, msg2 } = counsellorAnswer(b64Decode(hs1.m));
    const hs2 = parseServerFrame(JSON.stringify({ t: 'hs2', conv, m: b64Encode(msg2) }));
    if (hs2.t !== 'hs2') throw new Error('not hs2');
    const visitor = initiator.readMessage2(b64Decode(hs2.m));
    expect(visitor.safetyCode).toBe(counsellor.safetyCode);
    for (const msg of [{ k: 'hello' }, { k: 'text', body: 'hej', ts: v.now }] as const) {
      const sent = sendMessage(visitor, msg);
      expect(receiveMessage(counsellor, sent.n, sent.ct).message).toEqual(msg);
    }
    const bye = sendMessage(counsellor, { k: 'bye', reason: 'ended' });
    const data = parseServerFrame(JSON.stringify({ t: 'data', conv, n: bye.n, m: b64Encode(bye.ct) }));
    if (data.t !== 'data') throw new Error('not data');
    expect(receiveMessage(visitor, data.n, b64Decode(data.m)).message).toEqual({ k: 'bye', reason: 'ended' });
  });
});

describe('key substitution matrix', () => {
  const rootSeed = b64(v.org_root.secret);
  const idSeed = b64(v.counsellor.identity_secret);
  const idPub = b64(v.counsellor.identity_public);

  /** A relay-made chain under its own root is refused at verification. */
  it('refuses a chain under another root', () => {
    const fakeRoot = new Uint8Array(32).fill(9);
    const bundle = chain(fakeRoot, idSeed, idPub, new Uint8Array(32).fill(5), 1n);
    expect(errorCode(() => visitorStart(bundle))).toBe('bad_signature');
  });

  /** A shift key the identity did not sign is refused. */
  it('refuses an unsigned shift key', () => {
    const bundle = chain(rootSeed, new Uint8Array(32).fill(8), idPub, new Uint8Array(32).fill(5), 1n);
    expect(errorCode(() => visitorStart(bundle))).toBe('bad_signature');
  });

  /** An office certificate in place of an identity certificate is refused. */
  it('refuses an office certificate as identity', () => {
    const bundle = { id_cert: v.office.cert, shift_cert: v.counsellor.bundle.shift_cert };
    expect(errorCode(() => visitorStart(bundle))).toBe('cert_format');
  });

  /** Another counsellor's valid chain verifies, but the real counsellor's key refuses the handshake. */
  it("refuses another counsellor's valid chain at the handshake", () => {
    const bundle = chain(rootSeed, idSeed, idPub, new Uint8Array(32).fill(5), 2n);
    const { msg1 } = visitorStart(bundle);
    expect(errorCode(() => counsellorAnswer(msg1))).toBe('handshake');
  });

  /** The same shift key in a re-issued chain changes the bundle hash: the prologue no longer matches. */
  it('refuses a different bundle for the same shift key (altered prologue)', () => {
    const bundle = chain(rootSeed, idSeed, idPub, b64(v.counsellor.shift_secret), 3n);
    const { msg1, verified } = visitorStart(bundle);
    expect(verified.shiftPub).toEqual(x25519Public(b64(v.counsellor.shift_secret)));
    expect(errorCode(() => counsellorAnswer(msg1))).toBe('handshake');
  });
});
