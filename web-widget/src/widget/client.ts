/**
 * The visitor's connection: the `/v1/visitor` WebSocket, the certificate check, the Noise
 * handshake and session, acks, typing, reconnecting with `resume`, and quick exit. It turns
 * frames into state {@link Event}s and never touches the DOM.
 *
 * Delivery across a dropped connection: frames the visitor sends are kept (already
 * encrypted) until the counsellor's `read` covers them; after `resumed` the ones the relay
 * does not have (above `resumed.have` and the last `stored.upto`) are sent again, unchanged;
 * the counsellor's session drops the ones it already has (the replay rule). The
 * relay replays what the visitor has not acked; the session drops what it already has, and
 * the state ignores a line it already shows.
 */

import {
  b64Decode, b64Encode, CryptoError, encodeFrame, FrameError, Initiator, parseServerFrame, prologue, receiveMessage,
  sendMessage, verifyBundle,
} from '../proto/index.js';
import type { AppMessage, Received, ServerFrame, Session, VisitorFrame, WireBundle } from '../proto/index.js';
import { consentMessage, messageEvent } from './referral.js';
import type { Answer, OfferCard } from './referral.js';
import { endReason, parseResumed } from './relay-frames.js';
import type { Event } from './state.js';
import { OPEN, type SocketLike, wireSocket } from '../shared/socket.js';

export { parseResumed } from './relay-frames.js';

/** The WebSocket surface the client uses (a real `WebSocket` in the browser, a fake in tests). */
export type { SocketLike } from '../shared/socket.js';

export interface ClientDeps {
  readonly url: string;
  readonly orgRoot: Uint8Array;
  readonly dispatch: (e: Event) => void;
  readonly openSocket: (url: string) => SocketLike;
  readonly nowMs: () => number;
}

/** Seconds to wait before reconnect attempt `i` (0-based), before jitter. */
export const BACKOFF_S = [0.5, 1, 2, 4, 8, 15] as const;
/** Reconnect attempts while waiting in the queue before the visitor is told the connection is lost. */
export const MAX_JOIN_ATTEMPTS = 5;
/** Seconds after the last keystroke before `typing off` is sent. */
export const TYPING_IDLE_S = 4;

type Phase = 'idle' | 'waiting' | 'chat' | 'done';

interface Outgoing {
  readonly n: number;
  readonly frame: string;
  /** For a text: what to send again under a new session if this one ends before it was read. */
  readonly text?: { readonly body: string; readonly ts: number };
}

export class Client {
  private ws: SocketLike | undefined;
  private phase: Phase = 'idle';
  private queue = '';
  private token: string | undefined;
  private conv: string | undefined;
  private alias = '';
  private initiator: Initiator | undefined;
  private session: Session | undefined;
  /** Highest counsellor counter received in this epoch; -1 for none. */
  private upto = -1;
  /** Sent frames of this epoch the counsellor has not confirmed with `read`. */
  private outbox: Outgoing[] = [];
  /**
   * The highest counter of this epoch the relay said it keeps (`stored`, `resumed{have}`);
   * -1 for none. Those frames are not sent again after a resume, but their texts stay in the
   * outbox until `read`: a new epoch (the counsellor's console reloaded) carries them over.
   */
  private storedUpto = -1;
  /**
   * Texts of an ended epoch the counsellor never confirmed (e.g. sent while the counsellor's
   * console was reconnecting): sent again, once, right after `hello` of the next session.
   */
  private carry: { readonly body: string; readonly ts: number }[] = [];
  /** True once the current socket may carry data (after `hello`, and after `resumed` when resuming). */
  private live = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private typingOn = false;

  constructor(private readonly deps: ClientDeps) {}

  /** Connects and joins `queue`. */
  join(queue: string): void {
    this.reset();
    this.queue = queue;
    this.phase = 'waiting';
    this.connect();
  }

  /** Encrypts and sends a text message; returns false if there is no session. */
  sendText(body: string): boolean {
    if (this.session === undefined || this.phase !== 'chat') return false;
    this.stopTyping(false);
    const ts = Math.floor(this.deps.nowMs() / 1000);
    const n = this.sendApp({ k: 'text', body, ts });
    if (n === undefined) return false;
    this.deps.dispatch({ type: 'sent', n, body, ts, delivered: this.live });
    return true;
  }

  /** Answers a referral offer with `referral_consent`; returns false if there is no session. */
  sendConsent(offer: OfferCard, answer: Answer): boolean {
    if (this.session === undefined || this.phase !== 'chat') return false;
    return this.sendApp(consentMessage(offer, answer)) !== undefined;
  }

  /** Call on every edit of the message box: `typing on` once, `off` after a pause or when empty. */
  typing(hasText: boolean): void {
    if (this.session === undefined || this.phase !== 'chat') return;
    clearTimeout(this.typingTimer);
    if (!hasText) {
      this.stopTyping(true);
      return;
    }
    if (!this.typingOn) {
      this.typingOn = true;
      this.sendApp({ k: 'typing', on: true });
    }
    this.typingTimer = setTimeout(() => this.stopTyping(true), TYPING_IDLE_S * 1000);
  }

  /** Ends the chat: `bye` to the counsellor, then `leave` to the relay. */
  end(): void {
    if (this.session !== undefined && this.phase === 'chat') this.sendApp({ k: 'bye', reason: 'visitor_ended' });
    this.leave();
    this.deps.dispatch({ type: 'ended', reason: 'visitor' });
  }

  /** Leaves the queue or chat now (also quick exit): `leave` without waiting, keys wiped, socket closed. */
  leave(): void {
    const ws = this.ws;
    if (ws !== undefined && ws.readyState === OPEN) {
      try {
        ws.send(encodeFrame({ t: 'leave' }));
      } catch {
        // Closing anyway.
      }
    }
    this.reset();
  }

  /** Forgets everything: keys, tokens, timers, the socket. */
  reset(): void {
    this.phase = 'done';
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.typingTimer);
    this.dropSession();
    this.carry = [];
    this.token = undefined;
    this.conv = undefined;
    this.typingOn = false;
    this.attempt = 0;
    const ws = this.ws;
    this.ws = undefined;
    if (ws !== undefined) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        // Already closed.
      }
    }
  }

  private dropSession(): void {
    // `poison()` is the session's way to forget its keys (`end()` keeps them for nothing).
    this.session?.end();
    this.session?.poison();
    this.session = undefined;
    this.initiator = undefined;
    this.carry.push(...this.outbox.flatMap((o) => (o.text === undefined ? [] : [o.text])));
    this.outbox = [];
    this.storedUpto = -1;
    this.upto = -1;
  }

  private connect(): void {
    this.live = false;
    const ws = this.deps.openSocket(this.deps.url);
    this.ws = ws;
    wireSocket(ws, (s) => this.ws === s, (text) => this.onText(text), () => this.onDrop());
  }

  private onDrop(): void {
    this.ws = undefined;
    this.live = false;
    if (this.phase === 'done' || this.phase === 'idle') return;
    if (this.conv === undefined && this.attempt >= MAX_JOIN_ATTEMPTS) {
      // Never got into a conversation and the relay stays out of reach: say so plainly.
      this.reset();
      this.deps.dispatch({ type: 'error', code: 'connection_lost' });
      return;
    }
    this.deps.dispatch({ type: 'connection_lost' });
    const base = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)] ?? 15;
    this.attempt += 1;
    const delay = base * 1000 * (0.75 + Math.random() * 0.5);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private send(frame: VisitorFrame | Record<string, unknown>): void {
    if (this.ws?.readyState === OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** Encrypts `msg`, keeps the frame for resending, sends it if the socket is live. */
  private sendApp(msg: AppMessage): number | undefined {
    if (this.session === undefined || this.conv === undefined) return undefined;
    try {
      const { n, ct } = sendMessage(this.session, msg);
      const frame = encodeFrame({ t: 'data', conv: this.conv, n, m: b64Encode(ct) });
      this.outbox.push(msg.k === 'text' ? { n, frame, text: { body: msg.body, ts: msg.ts } } : { n, frame });
      if (this.live) this.ws?.send(frame);
      return n;
    } catch {
      this.fail();
      return undefined;
    }
  }

  private stopTyping(send: boolean): void {
    clearTimeout(this.typingTimer);
    if (this.typingOn && send) this.sendApp({ k: 'typing', on: false });
    this.typingOn = false;
  }

  private onText(text: string): void {
    const resumed = parseResumed(text);
    if (resumed !== undefined) {
      this.onResumed(resumed.conv, resumed.have);
      return;
    }
    let frame: ServerFrame;
    try {
      frame = parseServerFrame(text);
    } catch (e) {
      if (e instanceof FrameError) return; // Not for us or not understood: ignore it, as the relay does.
      throw e;
    }
    this.onFrame(frame);
  }

  private onFrame(f: ServerFrame): void {
    switch (f.t) {
      case 'hello':
        this.onHello();
        return;
      case 'queued':
        this.token = f.resume;
        this.conv = f.conv;
        if (this.phase === 'chat') this.dropSession();
        this.phase = 'waiting';
        this.live = true;
        this.attempt = 0;
        this.deps.dispatch({ type: 'queued', position: f.position, etaS: f.eta_s });
        return;
      case 'assigned':
        this.onAssigned(f.conv, f.bundle);
        return;
      case 'hs2':
        this.onHs2(f.conv, f.m);
        return;
      case 'data':
        this.onData(f.conv, f.n, f.m);
        return;
      case 'stored':
        if (f.conv === this.conv) this.storedUpto = Math.max(this.storedUpto, f.upto);
        return;
      case 'ended':
        if (f.conv !== this.conv) return;
        this.reset();
        this.deps.dispatch({ type: 'ended', reason: endReason(f.reason) });
        return;
      case 'error':
        this.onError(f.code, f.retry_after_s);
        return;
      default:
        return; // Counsellor frames never reach a visitor; ignore.
    }
  }

  private onHello(): void {
    if (this.phase === 'waiting' && this.conv === undefined) {
      // First connect, or a drop before the first `queued`: nothing to resume, so join.
      this.send({ t: 'join', queue: this.queue });
      return;
    }
    if (this.token !== undefined && this.conv !== undefined) {
      this.send({ t: 'resume', token: this.token, conv: this.conv, ...(this.upto >= 0 ? { upto: this.upto } : {}) });
    }
  }

  private onResumed(conv: string, have: number | undefined): void {
    if (conv !== this.conv) return;
    this.live = true;
    this.attempt = 0;
    if (have !== undefined) this.storedUpto = Math.max(this.storedUpto, have);
    // What the relay does not have goes again, unchanged; the counsellor drops a counter it
    // already has.
    for (const o of this.outbox) if (o.n > this.storedUpto) this.ws?.send(o.frame);
    const last = this.outbox.at(-1);
    if (last !== undefined) this.deps.dispatch({ type: 'delivered', upto: last.n });
    this.deps.dispatch({ type: 'reconnected' });
  }

  private onAssigned(conv: string, bundle: WireBundle): void {
    if (this.phase === 'done') return;
    const renewal = this.session !== undefined;
    this.dropSession();
    this.conv = conv;
    this.live = true;
    this.attempt = 0;
    let verified;
    try {
      verified = verifyBundle(this.deps.orgRoot, bundle, Math.floor(this.deps.nowMs() / 1000));
      const started = Initiator.start(verified.shiftPub, prologue(b64Decode(conv), verified.bundleHash));
      this.initiator = started.initiator;
      this.alias = verified.alias;
      this.phase = 'chat';
      this.send({ t: 'hs1', conv, m: b64Encode(started.msg1) });
    } catch {
      this.fail();
      return;
    }
    if (!renewal) this.deps.dispatch({ type: 'assigned' });
  }

  private onHs2(conv: string, m: string): void {
    if (conv !== this.conv) return;
    if (this.initiator === undefined) return; // A replayed hs2 of a handshake already done.
    try {
      const session = this.initiator.readMessage2(b64Decode(m));
      this.initiator = undefined;
      this.session = session;
    } catch {
      this.fail();
      return;
    }
    this.sendApp({ k: 'hello' });
    this.deps.dispatch({ type: 'secured', alias: this.alias, safetyCode: this.session.safetyCode });
    const carried = this.carry;
    this.carry = [];
    for (const t of carried) this.sendApp({ k: 'text', body: t.body, ts: t.ts });
  }

  private onData(conv: string, n: number, m: string): void {
    if (conv !== this.conv || this.session === undefined) return;
    let received: Received;
    try {
      received = receiveMessage(this.session, n, b64Decode(m));
    } catch (e) {
      if (e instanceof CryptoError && e.code === 'replay') return;
      this.fail();
      return;
    }
    this.upto = n;
    this.send({ t: 'ack', conv, upto: n });
    this.onMessage(n, received.message, received.json);
  }

  /** Turns a message into an event; `json` is its exact unpadded JSON (for the offer hash). */
  private onMessage(n: number, msg: AppMessage, json: Uint8Array): void {
    // The chat is on screen as it arrives: tell the counsellor it was read.
    if (msg.k === 'text') this.sendApp({ k: 'read', upto: n });
    if (msg.k === 'read') this.outbox = this.outbox.filter((o) => o.n > msg.upto);
    const event = messageEvent(n, msg, json);
    if (event !== undefined) this.deps.dispatch(event);
  }

  private onError(code: string, retryAfterS: number | undefined): void {
    if (code === 'resume_expired') {
      this.reset();
      this.deps.dispatch({ type: 'error', code });
      return;
    }
    if (this.phase === 'waiting' && this.conv === undefined) {
      this.reset();
      this.deps.dispatch(retryAfterS === undefined ? { type: 'error', code } : { type: 'error', code, retryAfterS });
    }
    // Other errors during a chat (a stray `not_found`, `bad_frame`) do not end it.
  }

  /** A certificate, handshake or decryption failure: end on this side, never retry with these keys. */
  private fail(): void {
    this.leave();
    this.deps.dispatch({ type: 'ended', reason: 'crypto_failed' });
  }
}
