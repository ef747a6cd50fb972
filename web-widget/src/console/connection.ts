/**
 * The counsellor's connection (PROTOCOL.md §3, docs/protocol.md): the `/v1/counsellor`
 * WebSocket opened with a single-use ticket, duty with the shift bundle, offers, the Noise
 * responder handshake per conversation, encrypted messages with acks, typing and read
 * receipts, transfer, end with tags, break, the phone desk's `callback_done`, and (through
 * `requests.ts`) referrals and call logs. Frames become {@link ShiftEvent}s; no DOM here.
 *
 * A dropped connection is reopened with a new ticket and the same shift key; the relay parks
 * the live chats meanwhile and gives them back (`resumed`) when duty is sent again, and each
 * visitor starts a new handshake. Sessions of the old epoch are dropped at once.
 */

import { encodeFrame, FrameError, parseServerFrame } from '../proto/index.js';
import type { AppMessage, CounsellorFrame, ServerFrame, Tags } from '../proto/index.js';
import { Conv } from './conv.js';
import { offerFromFrame } from './offer.js';
import type { SigningIdentity } from './referral.js';
import { PendingRequests } from './requests.js';
import type { Shift } from './shift.js';
import type { DutySettings, ShiftEvent } from './state.js';
import { OPEN, type SocketLike, wireSocket } from '../shared/socket.js';

/** The WebSocket surface used (a real `WebSocket` in the browser, a fake in tests). */
export type { SocketLike } from '../shared/socket.js';

export interface ConnectionDeps {
  readonly url: string;
  /** `POST /v1/auth/ticket`. */
  readonly ticket: () => Promise<string>;
  readonly openSocket: (url: string) => SocketLike;
  readonly dispatch: (e: ShiftEvent) => void;
  readonly nowMs: () => number;
  /** Whether the counsellor is looking at this chat now (it is shown and the page is visible). */
  readonly isSeen: (conv: string) => boolean;
  readonly identity?: SigningIdentity & { readonly alias: string }; // Signs referrals; none: no referrals.
}

/** Seconds before reconnect attempt `i`, before jitter. */
export const BACKOFF_S = [0.5, 1, 2, 4, 8] as const;
/** Milliseconds without an error after `duty` before it counts as accepted (the relay answers only refusals). */
export const DUTY_CONFIRM_MS = 1500;
/** Seconds after the last keystroke before `typing off`. */
export const TYPING_IDLE_S = 4;

export class ShiftConnection {
  private ws: SocketLike | undefined;
  private settings: DutySettings | undefined;
  private wantBreak = false;
  private readonly convs = new Map<string, Conv>();
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private confirmTimer: ReturnType<typeof setTimeout> | undefined;
  private dutyPending = false;
  private closed = false;
  /** Call logs and referrals: made through here, answered through the connection. */
  readonly requests: PendingRequests;

  constructor(private readonly deps: ConnectionDeps, private readonly shift: Shift) {
    const sendApp = (conv: string, msg: AppMessage): boolean => {
      const c = this.convs.get(conv);
      return c !== undefined && this.sendApp(conv, c, msg) !== undefined;
    };
    this.requests = new PendingRequests({
      sendApp, sendFrame: (frame) => this.send(frame), dispatch: (e) => this.deps.dispatch(e),
      nowS: () => Math.floor(this.deps.nowMs() / 1000), ...(deps.identity === undefined ? {} : { identity: deps.identity }),
    });
  }

  /** Connects (if needed) and goes on duty with `settings`. */
  goOnDuty(settings: DutySettings): void {
    this.settings = settings;
    this.wantBreak = false;
    this.deps.dispatch({ type: 'duty_requested', settings });
    if (this.ws === undefined) this.connect();
    else this.sendDuty();
  }

  /** Starts or ends a break (no offers meanwhile; live chats go on). */
  setBreak(on: boolean): void {
    this.wantBreak = on;
    this.send({ t: 'break', on });
    this.deps.dispatch({ type: 'break', on });
  }

  /** Ends the shift: duty off, the socket closed, the shift key and every session forgotten. */
  endShift(): void {
    this.send({ t: 'duty', on: false });
    this.close();
    this.deps.dispatch({ type: 'duty_off' });
    this.deps.dispatch({ type: 'link', link: 'offline' });
  }

  /** Closes without a word (log out, page unload): the relay parks live chats for a reload. */
  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.confirmTimer);
    for (const c of this.convs.values()) c.forget();
    this.convs.clear();
    this.requests.clear();
    this.shift.wipe();
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

  /** Takes an offer; the chat appears at once and turns secure after the visitor's handshake. */
  accept(offer: { readonly conv: string; readonly queue: string }): void {
    this.convs.set(offer.conv, new Conv(offer.conv));
    this.send({ t: 'accept', conv: offer.conv });
    this.deps.dispatch({ type: 'chat_accepted', conv: offer.conv, queue: offer.queue });
  }

  decline(conv: string): void {
    this.send({ t: 'decline', conv });
    this.deps.dispatch({ type: 'offer_declined', conv });
  }

  /** Encrypts and sends a text; false when the chat has no secure session now. */
  sendText(conv: string, body: string): boolean {
    const c = this.convs.get(conv);
    if (c?.secure !== true) return false;
    c.stopTyping(false);
    const ts = Math.floor(this.deps.nowMs() / 1000);
    const n = this.sendApp(conv, c, { k: 'text', body, ts });
    if (n === undefined) return false;
    this.deps.dispatch({ type: 'chat_sent', conv, n, body, ts });
    return true;
  }

  /** Call on every edit of the message box: `typing on` once, `off` after a pause or when empty. */
  typing(conv: string, hasText: boolean): void {
    const c = this.convs.get(conv);
    if (c?.secure === true) c.typing(hasText, TYPING_IDLE_S, (on) => this.sendApp(conv, c, { k: 'typing', on }));
  }

  /** The counsellor now sees `conv`: a read receipt for everything received, once. */
  markSeen(conv: string): void {
    const c = this.convs.get(conv);
    if (c?.secure !== true || c.upto <= c.readSent) return;
    c.readSent = c.upto;
    this.sendApp(conv, c, { k: 'read', upto: c.upto });
  }

  /** Hands the chat to a queue (its front) or a colleague; the relay answers `ended{transferred}`. */
  transfer(conv: string, to: { readonly queue: string } | { readonly alias: string }): void {
    // Aliases travel as slugs; the relay compares them case-insensitively.
    const target = 'alias' in to ? { alias: to.alias.toLowerCase() } : to;
    this.send({ t: 'transfer', conv, to: target });
  }

  /** Ends the chat with anonymous tags: `bye` to the visitor, then `end` to the relay. */
  end(conv: string, tags: Tags): void {
    const c = this.convs.get(conv);
    if (c !== undefined) {
      c.endedByMe = true;
      if (c.secure) this.sendApp(conv, c, { k: 'bye', reason: 'counsellor_ended' });
    }
    this.send({ t: 'end', conv, tags });
  }

  /** The phone desk handled a callback request. */
  callbackDone(id: string, tags: Tags): void {
    this.send({ t: 'callback_done', id, tags });
  }

  private connect(): void {
    if (this.closed) return;
    this.deps.dispatch({ type: 'link', link: this.attempt === 0 ? 'connecting' : 'reconnecting' });
    const ws = this.deps.openSocket(this.deps.url);
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.deps.ticket().then(
        (ticket) => {
          if (this.ws === ws && ws.readyState === OPEN) ws.send(encodeFrame({ t: 'auth', ticket }));
        },
        () => ws.close(1000),
      );
    };
    wireSocket(ws, (s) => this.ws === s, (text) => this.onText(text), () => this.onDrop());
  }

  private onDrop(): void {
    this.ws = undefined;
    clearTimeout(this.confirmTimer);
    for (const c of this.convs.values()) c.forget(); // Their epochs ended; the relay starts new ones on duty.
    this.requests.onDrop();
    this.deps.dispatch({ type: 'link', link: 'reconnecting' });
    if (this.closed) return;
    const base = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)] ?? 8;
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.connect(), base * 1000 * (0.75 + Math.random() * 0.5));
  }

  private sendDuty(): void {
    const s = this.settings;
    if (s === undefined) return;
    this.send({ t: 'duty', on: true, skills: { langs: s.langs, topics: s.topics }, capacity: s.capacity, bundle: this.shift.bundle });
    if (this.wantBreak) this.send({ t: 'break', on: true });
    this.dutyPending = true;
    clearTimeout(this.confirmTimer);
    this.confirmTimer = setTimeout(() => this.confirmDuty(), DUTY_CONFIRM_MS);
  }

  private confirmDuty(): void {
    if (!this.dutyPending) return;
    this.dutyPending = false;
    clearTimeout(this.confirmTimer);
    this.deps.dispatch({ type: 'duty_confirmed' });
  }

  private send(frame: CounsellorFrame): boolean {
    if (this.ws?.readyState !== OPEN) return false;
    this.ws.send(encodeFrame(frame));
    return true;
  }

  private sendApp(conv: string, c: Conv, msg: AppMessage): number | undefined {
    if (!c.secure) return undefined;
    try {
      const { n, m } = c.seal(msg);
      this.send({ t: 'data', conv, n, m });
      return n;
    } catch {
      this.fail(conv, c);
      return undefined;
    }
  }

  private onText(text: string): void {
    let frame: ServerFrame;
    try {
      frame = parseServerFrame(text);
    } catch (e) {
      if (e instanceof FrameError) return; // Not understood: ignored, as the relay ignores what it does not know.
      throw e;
    }
    this.onFrame(frame);
  }

  private onFrame(f: ServerFrame): void {
    const nowS = Math.floor(this.deps.nowMs() / 1000);
    switch (f.t) {
      case 'welcome':
        this.attempt = 0;
        this.deps.dispatch({ type: 'link', link: 'online' });
        this.sendDuty();
        return;
      case 'offer':
        this.confirmDuty();
        this.deps.dispatch({ type: 'offer', offer: offerFromFrame(f, this.deps.nowMs()) });
        return;
      case 'resumed':
        this.confirmDuty();
        this.conv(f.conv).forget();
        this.deps.dispatch({ type: 'chat_resumed', conv: f.conv, nowS });
        return;
      case 'hs1':
        this.onHs1(f.conv, f.m);
        return;
      case 'data':
        this.onData(f.conv, f.n, f.m);
        return;
      case 'peer':
        if (f.state === 'away' || f.state === 'back') this.deps.dispatch({ type: 'chat_peer', conv: f.conv, away: f.state === 'away', nowS });
        return;
      case 'ended':
        this.onEnded(f.conv, f.reason, nowS);
        return;
      case 'on_break':
        this.wantBreak = true;
        this.deps.dispatch({ type: 'break', on: true, missedOffers: f.reason === 'missed_offers' });
        return;
      case 'callbacks':
        this.deps.dispatch({ type: 'callbacks', items: f.items });
        return;
      case 'referral_stored':
        this.requests.referrals.onStored(f.conv, f.code);
        return;
      case 'call_logged':
        this.requests.onCallLogged();
        return;
      case 'error':
        this.onError(f.code, f.message);
        return;
      default:
        return; // Visitor frames never reach a counsellor.
    }
  }

  private conv(conv: string): Conv {
    let c = this.convs.get(conv);
    if (c === undefined) {
      c = new Conv(conv);
      this.convs.set(conv, c);
    }
    return c;
  }

  private onHs1(conv: string, m: string): void {
    const c = this.convs.get(conv);
    if (c === undefined) return; // Not a chat this console accepted or got back.
    try {
      this.send({ t: 'hs2', conv, m: c.handshake(this.shift, m) });
    } catch {
      this.fail(conv, c);
      return;
    }
    this.deps.dispatch({ type: 'chat_handshake', conv });
  }

  private onData(conv: string, n: number, m: string): void {
    const c = this.convs.get(conv);
    if (c?.secure !== true) return;
    let message: AppMessage | undefined;
    try {
      message = c.open(n, m);
    } catch {
      this.fail(conv, c);
      return;
    }
    if (message === undefined) return; // Already had it (a visitor's resend after resume).
    this.send({ t: 'ack', conv, upto: n });
    this.onMessage(conv, c, n, message);
  }

  private onMessage(conv: string, c: Conv, n: number, msg: AppMessage): void {
    const nowS = Math.floor(this.deps.nowMs() / 1000);
    switch (msg.k) {
      case 'hello':
        if (c.safetyCode !== undefined) this.deps.dispatch({ type: 'chat_secured', conv, safetyCode: c.safetyCode, nowS });
        this.requests.referrals.onSecured(conv);
        c.sendCarried((msg) => this.sendApp(conv, c, msg));
        return;
      case 'text': {
        const seen = this.deps.isSeen(conv);
        this.deps.dispatch({ type: 'chat_received', conv, n, body: msg.body, ts: msg.ts, seen });
        if (seen) this.markSeen(conv);
        return;
      }
      case 'typing':
        this.deps.dispatch({ type: 'chat_peer_typing', conv, on: msg.on });
        return;
      case 'read':
        this.deps.dispatch({ type: 'chat_peer_read', conv, upto: msg.upto });
        return;
      case 'bye':
        this.deps.dispatch({ type: 'chat_peer_typing', conv, on: false });
        return; // The relay's `ended` follows.
      case 'referral_consent':
        this.requests.referrals.onConsent(conv, msg);
        return;
      default:
        return; // Offers and codes go from the counsellor to the visitor only.
    }
  }

  private onEnded(conv: string, reason: string, nowS: number): void {
    this.requests.referrals.onEnded(conv);
    const c = this.convs.get(conv);
    if (c === undefined) {
      // An offer that went away (expired, withdrawn, the visitor left).
      this.deps.dispatch({ type: 'offer_gone', conv, reason });
      return;
    }
    c.forget();
    this.convs.delete(conv);
    // Accepted just as the offer went away: the chat never began, so it simply goes.
    const neverBegan = reason === 'offer_expired' || reason === 'offer_withdrawn';
    if (neverBegan || (c.endedByMe && reason === 'counsellor_ended')) this.deps.dispatch({ type: 'chat_closed', conv });
    else this.deps.dispatch({ type: 'chat_ended', conv, reason, nowS });
  }

  private onError(code: string, message: string): void {
    if (this.dutyPending && (code === 'forbidden' || code === 'bad_frame' || code === 'unauthorized')) {
      this.dutyPending = false;
      clearTimeout(this.confirmTimer);
      this.deps.dispatch({ type: 'duty_refused', message });
      return;
    }
    if (this.requests.onError(code, message)) return;
    this.deps.dispatch({ type: 'notice', notice: { kind: 'problem', key: 'relay_error', detail: `${code}: ${message}` } });
  }

  /** A handshake or decryption failure: the chat ends on this side, never retried with these keys. */
  private fail(conv: string, c: Conv): void {
    c.forget();
    this.send({ t: 'end', conv, tags: {} });
    this.deps.dispatch({ type: 'chat_ended', conv, reason: 'crypto_failed', nowS: Math.floor(this.deps.nowMs() / 1000) });
  }
}
