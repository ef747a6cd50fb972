/**
 * `Noise_NK_25519_ChaChaPoly_SHA256` (Noise Protocol Framework rev. 34, §5 processing rules,
 * §7.5 pattern NK) for PROTOCOL.md §2, as Rust's `noise.rs`: the visitor is the initiator,
 * the counsellor's shift key the responder static key. Built on X25519 (RFC 7748, all-zero
 * outputs refused), ChaCha20-Poly1305 (RFC 8439) and SHA-256 with Noise's HKDF (= RFC 5869
 * with `ck` as salt and empty info).
 *
 *     NK:  <- s  ...  -> e, es  <- e, ee
 */

import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, utf8Encode, wipe } from './bytes.js';
import { fail } from './errors.js';
import { x25519Public, x25519RandomSecret, x25519Shared } from './keys.js';
import { CipherState, Session } from './session.js';

/** The Noise protocol name; exactly 32 bytes, so it is `h`'s initial value unhashed (§5.2). */
export const PROTOCOL_NAME = 'Noise_NK_25519_ChaChaPoly_SHA256';
/** Length of each lyt handshake message: `e` plus the tag of the empty payload. */
export const HANDSHAKE_MSG_LEN = 48;

/** The lyt prologue `"lyt/1" ‖ conv_id[16] ‖ bundle_hash[32]`, binding conversation and bundle. */
export function prologue(convId: Uint8Array, bundleHash: Uint8Array): Uint8Array {
  if (convId.length !== 16) throw fail('length', `conv_id: expected 16 bytes, got ${convId.length}`);
  if (bundleHash.length !== 32) throw fail('length', `bundle_hash: expected 32 bytes, got ${bundleHash.length}`);
  return concat(utf8Encode('lyt/1'), convId, bundleHash);
}

/** Noise HKDF with two 32-byte outputs (§4.3). */
function hkdf2(ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const okm = hkdf(sha256, ikm, ck, new Uint8Array(0), 64);
  const out: [Uint8Array, Uint8Array] = [okm.slice(0, 32), okm.slice(32)];
  wipe(okm);
  return out;
}

/** A SymmetricState (§5.2), initialised with the protocol name, the prologue and NK's `<- s`. */
class SymmetricState {
  private ck: Uint8Array;
  h: Uint8Array;
  private cipher = new CipherState(undefined);

  constructor(prologueBytes: Uint8Array, responderStatic: Uint8Array) {
    this.ck = utf8Encode(PROTOCOL_NAME);
    this.h = utf8Encode(PROTOCOL_NAME);
    this.mixHash(prologueBytes);
    this.mixHash(responderStatic);
  }

  mixHash(data: Uint8Array): void {
    this.h = sha256(concat(this.h, data));
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf2(this.ck, ikm);
    wipe(this.ck, ikm);
    this.ck = ck;
    this.cipher.wipe();
    this.cipher = new CipherState(k);
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ct = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(ct);
    return ct;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const pt = this.cipher.decryptWithAd(this.h, ciphertext);
    if (pt === undefined) {
      throw fail('handshake', 'Noise handshake failed: message does not authenticate (wrong key or prologue)');
    }
    this.mixHash(ciphertext);
    return pt;
  }

  /** Split (§5.2): initiator→responder and responder→initiator cipher states, and `h`. */
  split(): [CipherState, CipherState, Uint8Array] {
    const [k1, k2] = hkdf2(this.ck, new Uint8Array(0));
    wipe(this.ck);
    this.cipher.wipe();
    return [new CipherState(k1), new CipherState(k2), this.h];
  }
}

/** Splits a handshake message into the peer's ephemeral key and the rest. */
function splitEphemeral(msg: Uint8Array): [Uint8Array, Uint8Array] {
  if (msg.length < HANDSHAKE_MSG_LEN) throw fail('handshake', 'Noise handshake failed: message too short');
  return [msg.slice(0, 32), msg.slice(32)];
}

/** The visitor's side between sending message 1 and receiving message 2. Single use. */
export class Initiator {
  private done = false;

  private constructor(private readonly sym: SymmetricState, private readonly e: Uint8Array) {}

  /**
   * Starts a handshake to `responderStaticPub` (the verified shift key) with a fresh
   * ephemeral key; returns the state and message 1 (`e, es`, empty payload, 48 bytes).
   */
  static start(responderStaticPub: Uint8Array, prologueBytes: Uint8Array): { initiator: Initiator; msg1: Uint8Array } {
    return Initiator.startWith(responderStaticPub, prologueBytes, x25519RandomSecret(), new Uint8Array(0));
  }

  /** Test vectors only: {@link Initiator.start} with a given ephemeral secret and payload. */
  static startWith(
    responderStaticPub: Uint8Array,
    prologueBytes: Uint8Array,
    ephemeralSecret: Uint8Array,
    payload: Uint8Array,
  ): { initiator: Initiator; msg1: Uint8Array } {
    const sym = new SymmetricState(prologueBytes, responderStaticPub);
    const e = ephemeralSecret.slice();
    try {
      const ePub = x25519Public(e);
      sym.mixHash(ePub);
      sym.mixKey(x25519Shared(e, responderStaticPub));
      const msg1 = concat(ePub, sym.encryptAndHash(payload));
      return { initiator: new Initiator(sym, e), msg1 };
    } catch (err) {
      wipe(e);
      throw err;
    }
  }

  /** Reads message 2 (`e, ee`, exactly 48 bytes, empty payload): the visitor's key confirmation. */
  readMessage2(msg2: Uint8Array): Session {
    if (msg2.length !== HANDSHAKE_MSG_LEN) {
      throw fail('handshake', 'Noise handshake failed: message 2 has the wrong length');
    }
    return this.readMessage2WithPayload(msg2).session;
  }

  /** Test vectors only: {@link Initiator.readMessage2} returning the handshake payload. */
  readMessage2WithPayload(msg2: Uint8Array): { session: Session; payload: Uint8Array } {
    if (this.done) throw fail('handshake', 'Noise handshake failed: initiator already used');
    this.done = true;
    try {
      const [re, rest] = splitEphemeral(msg2);
      this.sym.mixHash(re);
      this.sym.mixKey(x25519Shared(this.e, re));
      const payload = this.sym.decryptAndHash(rest);
      const [c1, c2, h] = this.sym.split();
      return { session: new Session(c1, c2, h, true), payload };
    } finally {
      wipe(this.e);
    }
  }
}

/**
 * The counsellor's side: reads message 1 with the shift secret `s` and returns the session
 * and message 2 (`e, ee`, empty payload). Refuses a wrong length, key, prologue or payload.
 */
export function respondHandshake(
  shiftSecret: Uint8Array,
  prologueBytes: Uint8Array,
  msg1: Uint8Array,
): { session: Session; msg2: Uint8Array } {
  if (msg1.length !== HANDSHAKE_MSG_LEN) {
    throw fail('handshake', 'Noise handshake failed: message 1 has the wrong length');
  }
  const { session, msg2 } = respondHandshakeWith(shiftSecret, prologueBytes, msg1, x25519RandomSecret(), new Uint8Array(0));
  return { session, msg2 };
}

/** Test vectors only: {@link respondHandshake} with a given ephemeral secret and payload. */
export function respondHandshakeWith(
  shiftSecret: Uint8Array,
  prologueBytes: Uint8Array,
  msg1: Uint8Array,
  ephemeralSecret: Uint8Array,
  payload: Uint8Array,
): { session: Session; payload: Uint8Array; msg2: Uint8Array } {
  const e = ephemeralSecret.slice();
  try {
    const sym = new SymmetricState(prologueBytes, x25519Public(shiftSecret));
    const [re, rest] = splitEphemeral(msg1);
    sym.mixHash(re);
    sym.mixKey(x25519Shared(shiftSecret, re));
    const payload1 = sym.decryptAndHash(rest);
    const ePub = x25519Public(e);
    sym.mixHash(ePub);
    sym.mixKey(x25519Shared(e, re));
    const msg2 = concat(ePub, sym.encryptAndHash(payload));
    const [c1, c2, h] = sym.split();
    return { session: new Session(c2, c1, h, false), payload: payload1, msg2 };
  } finally {
    wipe(e);
  }
}
