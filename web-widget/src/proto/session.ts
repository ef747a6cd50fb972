/**
 * An established Noise transport session (PROTOCOL.md §2–§3), as Rust's `session.rs`: the two
 * CipherStates of Split with implicit counters (Noise rev. 34 §5.1), the replay/gap rule,
 * poisoning after any failure, the end after `bye`, and the six-digit safety code.
 */

import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { aeadDecrypt, aeadEncrypt } from './aead.js';
import { utf8Encode, wipe } from './bytes.js';
import { CryptoError, fail } from './errors.js';

const SAFETY_CODE_INFO = utf8Encode('lyt/1 safety code');
/**
 * Highest counter this implementation uses. Rust stops at 2^64 − 1 (reserved by Noise); a JS
 * number is exact only up to 2^53 − 1, so the TypeScript session stops there. Neither limit
 * is reachable in a conversation.
 */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/** The 96-bit ChaCha20-Poly1305 nonce of Noise §12.3: 32 zero bits, then the LE 64-bit counter. */
function nonce(n: number): Uint8Array {
  const out = new Uint8Array(12);
  new DataView(out.buffer).setBigUint64(4, BigInt(n), true);
  return out;
}

/** A Noise CipherState (§5.1): a key (absent before the first MixKey) and an implicit counter. */
export class CipherState {
  /** The counter of the next message. */
  n = 0;

  constructor(private k: Uint8Array | undefined) {}

  /** EncryptWithAd; returns the plaintext unchanged while there is no key. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.k === undefined) return plaintext.slice();
    if (this.n >= MAX_COUNTER) throw fail('nonce_exhausted', 'message counter exhausted');
    const ct = aeadEncrypt(this.k, nonce(this.n), ad, plaintext);
    this.n += 1;
    return ct;
  }

  /** DecryptWithAd; the counter advances only on success. `undefined` if it does not authenticate. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
    if (this.k === undefined) return ciphertext.slice();
    if (this.n >= MAX_COUNTER) return undefined;
    const pt = aeadDecrypt(this.k, nonce(this.n), ad, ciphertext);
    if (pt === undefined) return undefined;
    this.n += 1;
    return pt;
  }

  /** Forgets the key. */
  wipe(): void {
    if (this.k !== undefined) wipe(this.k);
    this.k = undefined;
  }
}

/** Where a session stands. */
type State = 'open' | 'ended' | 'poisoned';

/** A transport message as sent: the sender's counter `n` and the ciphertext. */
export interface Encrypted {
  readonly n: number;
  readonly ct: Uint8Array;
}

/**
 * An established session: transport encryption with implicit counters, PROTOCOL.md §3's
 * replay/gap rule, and poisoning after any failure. Created by the Noise handshake.
 */
export class Session {
  private state: State = 'open';

  /** @internal Built by `noise.ts` from the Split of a completed handshake. */
  constructor(
    private readonly send: CipherState,
    private readonly recv: CipherState,
    private readonly h: Uint8Array,
    /** Whether this side was the initiator (the visitor). */
    readonly isInitiator: boolean,
  ) {}

  /** The Noise handshake hash `h`, the same on both sides of one handshake. */
  get handshakeHash(): Uint8Array {
    return this.h.slice();
  }

  /** The six-digit safety code: HKDF-SHA256(h, salt = "", "lyt/1 safety code")[0..4] as BE u32 mod 10^6. */
  get safetyCode(): string {
    const okm = hkdf(sha256, this.h, new Uint8Array(0), SAFETY_CODE_INFO, 4);
    const value = new DataView(okm.buffer, okm.byteOffset, 4).getUint32(0, false);
    return String(value % 1_000_000).padStart(6, '0');
  }

  /** The counter the next sent message will carry. */
  get nextSendCounter(): number {
    return this.send.n;
  }

  /** The counter of the next message expected from the peer. */
  get nextRecvCounter(): number {
    return this.recv.n;
  }

  /** Whether `bye` was sent or received. */
  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Whether an earlier failure ended this session. */
  get poisoned(): boolean {
    return this.state === 'poisoned';
  }

  private checkOpen(): void {
    if (this.state === 'ended') throw fail('ended', 'conversation already ended with bye');
    if (this.state === 'poisoned') throw fail('poisoned', 'session failed earlier; the conversation must end');
  }

  /** Marks the session failed and forgets its keys; every later call throws `poisoned`. */
  poison(): void {
    this.state = 'poisoned';
    this.send.wipe();
    this.recv.wipe();
  }

  /** Marks the session ended by `bye` (no effect on a poisoned session). */
  end(): void {
    if (this.state === 'open') this.state = 'ended';
  }

  /** Encrypts the next transport message; returns its counter `n` and ciphertext. */
  encrypt(plaintext: Uint8Array): Encrypted {
    this.checkOpen();
    const n = this.send.n;
    try {
      return { n, ct: this.send.encryptWithAd(new Uint8Array(0), plaintext) };
    } catch (e) {
      this.poison();
      throw e;
    }
  }

  /**
   * Decrypts message `n`: below the next expected counter throws `replay` (drop it, the
   * session stays usable); above throws `gap`; failing to authenticate throws `decrypt`.
   * `gap` and `decrypt` poison the session.
   */
  decrypt(n: number, ciphertext: Uint8Array): Uint8Array {
    this.checkOpen();
    if (!Number.isInteger(n) || n < 0) throw new RangeError('n must be a non-negative integer');
    const expected = this.recv.n;
    if (n < expected) {
      throw new CryptoError('replay', `replayed message ${n} (next expected ${expected}); drop it`);
    }
    if (n > expected) {
      this.poison();
      throw new CryptoError('gap', `gap in messages: got ${n}, expected ${expected}; the conversation must end`);
    }
    const pt = this.recv.decryptWithAd(new Uint8Array(0), ciphertext);
    if (pt === undefined) {
      this.poison();
      throw fail('decrypt', 'transport message does not decrypt');
    }
    return pt;
  }
}
