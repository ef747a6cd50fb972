/**
 * One conversation's end-to-end state in the console for the current epoch: the Noise
 * session (from the shift key's responder handshake), the highest visitor counter received
 * and read, and the typing indicator. Every new epoch (reconnect, renewal) starts empty.
 */

import { b64Decode, b64Encode, CryptoError, receiveMessage, sendMessage } from '../proto/index.js';
import type { AppMessage, Session } from '../proto/index.js';
import type { Shift } from './shift.js';

export class Conv {
  private session: Session | undefined;
  /** Highest visitor counter received in this epoch (-1: none). */
  upto = -1;
  /** Highest visitor counter covered by a `read` sent in this epoch. */
  readSent = -1;
  private typingOn = false;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private sendTyping: ((on: boolean) => void) | undefined;
  /** The counsellor ended it; the relay's `ended` then closes it in the view. */
  endedByMe = false;

  constructor(readonly id: string) {}

  /** Whether a session is up (messages can be sent). */
  get secure(): boolean {
    return this.session !== undefined;
  }

  /** The safety code of the current session. */
  get safetyCode(): string | undefined {
    return this.session?.safetyCode;
  }

  /** Answers the visitor's `hs1` with the shift key; returns `hs2`. Throws on a bad handshake. */
  handshake(shift: Shift, hs1: string): string {
    this.forget();
    const { session, hs2 } = shift.respond(this.id, hs1);
    this.session = session;
    return hs2;
  }

  /** Encrypts `msg`: the `n` and `m` of a data frame. Throws if there is no session or it failed. */
  seal(msg: AppMessage): { n: number; m: string } {
    if (this.session === undefined) throw new Error('no session');
    const { n, ct } = sendMessage(this.session, msg);
    return { n, m: b64Encode(ct) };
  }

  /** Decrypts data frame `n`; `undefined` for a replay (drop it). Throws when the chat must end. */
  open(n: number, m: string): AppMessage | undefined {
    if (this.session === undefined) throw new Error('no session');
    try {
      const msg = receiveMessage(this.session, n, b64Decode(m)).message;
      this.upto = n;
      return msg;
    } catch (e) {
      if (e instanceof CryptoError && e.code === 'replay') return undefined;
      throw e;
    }
  }

  /** An edit of the message box: `typing on` once, `off` after `idleS` or when empty (`send` sends it). */
  typing(hasText: boolean, idleS: number, send: (on: boolean) => void): void {
    clearTimeout(this.typingTimer);
    this.sendTyping = send;
    if (!hasText) {
      this.stopTyping(true);
      return;
    }
    if (!this.typingOn) {
      this.typingOn = true;
      send(true);
    }
    this.typingTimer = setTimeout(() => this.stopTyping(true), idleS * 1000);
  }

  /** Ends the typing state; `typing off` is sent only if `send` and it was on. */
  stopTyping(send: boolean): void {
    clearTimeout(this.typingTimer);
    if (this.typingOn && send) this.sendTyping?.(false);
    this.typingOn = false;
  }

  /** Drops the session's keys (poison is a session's only way to wipe them) and this epoch's counters. */
  forget(): void {
    clearTimeout(this.typingTimer);
    this.session?.poison();
    this.session = undefined;
    this.upto = -1;
    this.readSent = -1;
    this.typingOn = false;
  }
}
