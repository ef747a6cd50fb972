/**
 * One conversation's end-to-end state in the console for the current epoch: the Noise
 * session (from the shift key's responder handshake), the highest visitor counter received
 * and read, and the typing indicator. Every new epoch (reconnect, renewal) starts empty,
 * except for the texts the visitor never confirmed with `read`: they are carried over and
 * sent again, once, in the next session (nothing the counsellor wrote is lost to a dropped
 * link; the widget shows a carried text it already has once).
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
  /** Texts sent in this epoch that the visitor has not confirmed with `read`. */
  private unconfirmed: { readonly n: number; readonly body: string; readonly ts: number }[] = [];
  /** Texts of an ended epoch the visitor never confirmed, to send again in the next session. */
  private carry: { readonly body: string; readonly ts: number }[] = [];

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
    // A text is kept until the visitor's `read` covers it (see `forget`).
    if (msg.k === 'text') this.unconfirmed.push({ n, body: msg.body, ts: msg.ts });
    return { n, m: b64Encode(ct) };
  }

  /** Sends the texts carried from the previous epoch with `send`, once the new session is up. */
  sendCarried(send: (msg: AppMessage) => number | undefined): void {
    const carried = this.carry;
    this.carry = [];
    for (const t of carried) send({ k: 'text', body: t.body, ts: t.ts });
  }

  /** Decrypts data frame `n`; `undefined` for a replay (drop it). Throws when the chat must end. */
  open(n: number, m: string): AppMessage | undefined {
    if (this.session === undefined) throw new Error('no session');
    try {
      const msg = receiveMessage(this.session, n, b64Decode(m)).message;
      this.upto = n;
      if (msg.k === 'read') this.unconfirmed = this.unconfirmed.filter((u) => u.n > msg.upto);
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
    this.carry.push(...this.unconfirmed.map(({ body, ts }) => ({ body, ts })));
    this.unconfirmed = [];
    this.upto = -1;
    this.readSent = -1;
    this.typingOn = false;
  }
}
