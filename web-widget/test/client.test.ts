/** The visitor connection against a fake relay and a real counsellor session: handshake, acks, resume without loss or duplicates, failures. */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  b64Decode, b64Encode, encodeIdCertBody, offerHash, pad, prologue, receiveMessage, respondHandshake, sendMessage, signCert, verifyBundle,
  type Session, type WireBundle,
} from '../src/proto/index.js';
import { Client, parseResumed, type SocketLike } from '../src/widget/client.js';
import type { Event } from '../src/widget/state.js';
import { b64, loadVector } from './vectors.js';

interface Certs {
  now: number;
  org_root: { secret: string; public: string };
  counsellor: { shift_secret: string; bundle: WireBundle };
}
const v = loadVector<Certs>('certs.json');
const root = b64(v.org_root.public);
const conv = b64Encode(new Uint8Array(16).fill(7));

class FakeSocket implements SocketLike {
  readyState = 1;
  sent: Record<string, unknown>[] = [];
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  send(text: string): void {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(): void {
    this.readyState = 3;
  }
  /** The relay sends a frame. */
  push(frame: object): void {
    this.onmessage?.call(this as unknown as WebSocket, { data: JSON.stringify(frame) } as MessageEvent);
  }
  /** The connection drops. */
  drop(): void {
    this.readyState = 3;
    this.onclose?.call(this as unknown as WebSocket, {} as CloseEvent);
  }
  of(t: string): Record<string, unknown>[] {
    return this.sent.filter((f) => f['t'] === t);
  }
}

let sockets: FakeSocket[];
let events: Event[];
let client: Client;
const sock = (): FakeSocket => sockets.at(-1)!;

/** Runs the client up to a live chat; returns the counsellor's session. */
function toChat(bundle: WireBundle = v.counsellor.bundle): Session {
  client.join('da/exit');
  sock().push({ t: 'hello', v: 1, limits: { max_frame: 65536, max_text_chars: 4000, ping_s: 20, idle_s: 60 } });
  expect(sock().of('join')).toEqual([{ t: 'join', queue: 'da/exit' }]);
  sock().push({ t: 'queued', conv, position: 1, eta_s: 60, resume: 'tok' });
  sock().push({ t: 'assigned', conv, bundle, alias: 'Relay-says-Eve' });
  const hs1 = sock().of('hs1')[0]!;
  const ours = verifyBundle(root, v.counsellor.bundle, v.now);
  const { session, msg2 } = respondHandshake(b64(v.counsellor.shift_secret), prologue(b64Decode(conv), ours.bundleHash), b64Decode(hs1['m'] as string));
  sock().push({ t: 'hs2', conv, m: b64Encode(msg2) });
  return session;
}

/** The counsellor reads every visitor data frame it has not read yet (replays dropped, as the Rust client does). */
function counsellorReads(session: Session, frames: Record<string, unknown>[]): string[] {
  const out: string[] = [];
  for (const f of frames) {
    try {
      const { message } = receiveMessage(session, f['n'] as number, b64Decode(f['m'] as string));
      out.push(message.k === 'text' ? `text:${message.body}` : message.k === 'typing' ? `typing:${message.on}` : message.k);
    } catch (e) {
      if ((e as { code?: string }).code !== 'replay') throw e;
    }
  }
  return out;
}

function counsellorSays(session: Session, body: string): object {
  const { n, ct } = sendMessage(session, { k: 'text', body, ts: v.now });
  return { t: 'data', conv, n, m: b64Encode(ct) };
}

beforeEach(() => {
  vi.useFakeTimers();
  sockets = [];
  events = [];
  client = new Client({
    url: 'ws://relay/v1/visitor', orgRoot: root, dispatch: (e) => events.push(e),
    openSocket: () => { const s = new FakeSocket(); sockets.push(s); return s; }, nowMs: () => v.now * 1000,
  });
});
afterEach(() => {
  client.reset();
  vi.useRealTimers();
});

describe('visitor client', () => {
  /** The alias shown is the certified one, not the frame's; hello goes first; the safety codes agree. */
  it('verifies, handshakes and says hello', () => {
    const counsellor = toChat();
    const secured = events.find((e) => e.type === 'secured');
    expect(secured).toEqual({ type: 'secured', alias: 'Maja', safetyCode: counsellor.safetyCode });
    expect(counsellorReads(counsellor, sock().of('data'))).toEqual(['hello']);
  });

  /**
   * A referral offer is shown with the SHA-256 of the exact JSON received (here written with
   * an escape serde would not use, so re-encoding would give another hash); the answer goes
   * back as `referral_consent` with that hash; a code becomes a code card.
   */
  it('answers a referral offer with the hash of the bytes received', () => {
    const counsellor = toChat();
    const raw = new TextEncoder().encode('{"k":"referral_offer","office_id":"bro-kbh","office_name":"Bro\\u0062ygger","fields":["Needs: health","Contact: will quote the code"]}');
    const { n, ct } = counsellor.encrypt(pad(raw));
    sock().push({ t: 'data', conv, n, m: b64Encode(ct) });
    expect(sock().of('ack').at(-1)).toEqual({ t: 'ack', conv, upto: n });
    const shown = events.find((e) => e.type === 'referral_offer');
    if (shown?.type !== 'referral_offer') throw new Error('no offer shown');
    expect(shown.offer).toEqual({ officeId: 'bro-kbh', officeName: 'Brobygger', fields: ['Needs: health', 'Contact: will quote the code'], hash: b64Encode(offerHash(raw)) });

    expect(counsellorReads(counsellor, sock().of('data'))).toEqual(['hello']);
    expect(client.sendConsent(shown.offer, 'yes')).toBe(true);
    const answer = sock().of('data').at(-1)!;
    const { message } = receiveMessage(counsellor, answer['n'] as number, b64Decode(answer['m'] as string));
    expect(message).toEqual({ k: 'referral_consent', offer_hash: offerHash(raw), yes: true });

    const code = sendMessage(counsellor, { k: 'referral_code', code: 'BRO-4KQ7-9MXC', office_name: 'Brobygger', address: 'Demogade 1', hours: 'Mon-Thu 10-15' });
    sock().push({ t: 'data', conv, n: code.n, m: b64Encode(code.ct) });
    expect(events.at(-1)).toEqual({ type: 'referral_code', n: code.n, code: { code: 'BRO-4KQ7-9MXC', officeName: 'Brobygger', address: 'Demogade 1', hours: 'Mon-Thu 10-15' } });
  });

  /** Each counsellor message is acked, shown, and a replay of it is dropped. */
  it('acks and ignores replays', () => {
    const counsellor = toChat();
    const frame = counsellorSays(counsellor, 'Hej');
    sock().push(frame);
    sock().push(frame);
    expect(sock().of('ack')).toEqual([{ t: 'ack', conv, upto: 0 }]);
    expect(events.filter((e) => e.type === 'received')).toHaveLength(1);
  });

  /**
   * A renewed session (the counsellor's console reconnected or was reloaded: a new `assigned`
   * in the same conversation) gets, after hello, the texts the old one never confirmed —
   * nothing typed while the counsellor was away is lost; confirmed texts are not sent again.
   */
  it('sends unconfirmed texts again after a renewal', () => {
    const first = toChat();
    expect(client.sendText('read already')).toBe(true);
    counsellorReads(first, sock().of('data'));
    const { n: readN, ct } = sendMessage(first, { k: 'read', upto: 1 });
    sock().push({ t: 'data', conv, n: readN, m: b64Encode(ct) });
    expect(client.sendText('while you were away')).toBe(true);
    sock().push({ t: 'assigned', conv, bundle: v.counsellor.bundle, alias: 'Maja' });
    const hs1 = sock().of('hs1').at(-1)!;
    const ours = verifyBundle(root, v.counsellor.bundle, v.now);
    const { session, msg2 } = respondHandshake(b64(v.counsellor.shift_secret), prologue(b64Decode(conv), ours.bundleHash), b64Decode(hs1['m'] as string));
    const before = sock().of('data').length;
    sock().push({ t: 'hs2', conv, m: b64Encode(msg2) });
    expect(counsellorReads(session, sock().of('data').slice(before))).toEqual(['hello', 'text:while you were away']);
    expect(events.filter((e) => e.type === 'secured')).toHaveLength(2);
  });

  /** Each counsellor message shown is confirmed with a read receipt (the console's "Read"). */
  it('sends read receipts', () => {
    const counsellor = toChat();
    sock().push(counsellorSays(counsellor, 'Hej'));
    sock().push(counsellorSays(counsellor, 'Er du der?'));
    const reads = sock().of('data').map((f) => receiveMessage(counsellor, f['n'] as number, b64Decode(f['m'] as string)).message);
    expect(reads).toEqual([{ k: 'hello' }, { k: 'read', upto: 0 }, { k: 'read', upto: 1 }]);
  });

  /** A dropped connection resumes with token, conv and upto; what was sent offline arrives once, replays are not shown twice. */
  it('resumes without loss or duplicates', () => {
    const counsellor = toChat();
    sock().push(counsellorSays(counsellor, 'one'));
    expect(client.sendText('before')).toBe(true);
    const first = sock();
    first.drop();
    expect(events.at(-1)).toEqual({ type: 'connection_lost' });
    expect(client.sendText('while offline')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'sent', body: 'while offline', delivered: false });
    const missed = counsellorSays(counsellor, 'two');
    vi.advanceTimersByTime(1000);
    expect(sockets).toHaveLength(2);
    sock().push({ t: 'hello', v: 1, limits: { max_frame: 65536, max_text_chars: 4000, ping_s: 20, idle_s: 60 } });
    expect(sock().of('resume')).toEqual([{ t: 'resume', token: 'tok', conv, upto: 0 }]);
    sock().push({ t: 'resumed', conv });
    // Everything the counsellor has not confirmed is sent again, unchanged.
    expect(counsellorReads(counsellor, [...first.of('data'), ...sock().of('data')])).toEqual(['hello', 'read', 'text:before', 'text:while offline']);
    sock().push(missed);
    expect(events.filter((e) => e.type === 'received').map((e) => (e as { body: string }).body)).toEqual(['one', 'two']);
    expect(events).toContainEqual({ type: 'reconnected' });
  });

  /** What the relay says it has (`stored`, `resumed.have`) is not sent again; the rest is, unchanged. */
  it('resends only what the relay does not have', () => {
    const counsellor = toChat();
    for (const t of ['a', 'b', 'c', 'd']) expect(client.sendText(t)).toBe(true);
    const first = sock();
    const sent = first.of('data');
    expect(sent.map((f) => f['n'])).toEqual([0, 1, 2, 3, 4]);
    first.push({ t: 'stored', conv, upto: 1 });
    first.drop();
    vi.advanceTimersByTime(1000);
    sock().push({ t: 'hello', v: 1, limits: { max_frame: 65536, max_text_chars: 4000, ping_s: 20, idle_s: 60 } });
    sock().push({ t: 'resumed', conv, have: 2 });
    const again = sock().of('data');
    expect(again.map((f) => f['n'])).toEqual([3, 4]);
    expect(again).toEqual(sent.slice(3));
    expect(counsellorReads(counsellor, sent)).toEqual(['hello', 'text:a', 'text:b', 'text:c', 'text:d']);
  });

  /** Without `have` (an older relay, or nothing kept), everything not read goes again. */
  it('resends everything unread when the relay says nothing', () => {
    toChat();
    expect(client.sendText('x')).toBe(true);
    sock().drop();
    vi.advanceTimersByTime(1000);
    sock().push({ t: 'hello', v: 1, limits: { max_frame: 65536, max_text_chars: 4000, ping_s: 20, idle_s: 60 } });
    sock().push({ t: 'resumed', conv });
    expect(sock().of('data').map((f) => f['n'])).toEqual([0, 1]);
  });

  /** A drop while still waiting resumes the same place (token and conv from `queued`) instead of joining at the back. */
  it('keeps its place in the queue across a drop', () => {
    client.join('da/exit');
    sock().push({ t: 'hello', v: 1, limits: { max_frame: 65536, max_text_chars: 4000, ping_s: 20, idle_s: 60 } });
    sock().push({ t: 'queued', conv, position: 2, eta_s: 120, resume: 'tok' });
    sock().drop();
    vi.advanceTimersByTime(1000);
    sock().push({ t: 'hello', v: 1, limits: { max_frame: 65536, max_text_chars: 4000, ping_s: 20, idle_s: 60 } });
    expect(sock().of('join')).toEqual([]);
    expect(sock().of('resume')).toEqual([{ t: 'resume', token: 'tok', conv }]);
    sock().push({ t: 'resumed', conv });
    sock().push({ t: 'queued', conv, position: 1, eta_s: 60, resume: 'tok' });
    expect(events.at(-1)).toEqual({ type: 'queued', position: 1, etaS: 60 });
  });

  /** Without any counsellor message yet, resume omits `upto`. */
  it('omits upto when nothing was received', () => {
    toChat();
    sock().drop();
    vi.advanceTimersByTime(1000);
    sock().push({ t: 'hello', v: 1, limits: { max_frame: 65536, max_text_chars: 4000, ping_s: 20, idle_s: 60 } });
    expect(sock().of('resume')).toEqual([{ t: 'resume', token: 'tok', conv }]);
  });

  /** A bundle from the wrong root is refused: leave, crypto_failed, no hs1. */
  it('refuses a substituted bundle', () => {
    const evil = crypto.getRandomValues(new Uint8Array(32));
    const original = verifyBundle(root, v.counsellor.bundle, v.now).id;
    const id = signCert(encodeIdCertBody({ ...original }), evil);
    client.join('da/exit');
    sock().push({ t: 'hello', v: 1, limits: { max_frame: 65536, max_text_chars: 4000, ping_s: 20, idle_s: 60 } });
    sock().push({ t: 'assigned', conv, bundle: { ...v.counsellor.bundle, id_cert: b64Encode(id) }, alias: 'Maja' });
    expect(sock().of('hs1')).toHaveLength(0);
    expect(sock().of('leave')).toHaveLength(1);
    expect(events.at(-1)).toEqual({ type: 'ended', reason: 'crypto_failed' });
  });

  /** A message that does not decrypt ends the chat. */
  it('ends on a tampered message', () => {
    toChat();
    sock().push({ t: 'data', conv, n: 0, m: b64Encode(new Uint8Array(272)) });
    expect(events.at(-1)).toEqual({ type: 'ended', reason: 'crypto_failed' });
  });

  /** A join refused by the relay becomes an error event; quick exit (`leave`) sends leave and stops reconnecting. */
  it('reports join errors and leaves', () => {
    client.join('da/exit');
    sock().push({ t: 'hello', v: 1, limits: { max_frame: 65536, max_text_chars: 4000, ping_s: 20, idle_s: 60 } });
    sock().push({ t: 'error', code: 'rate_limited', message: 'slow down', retry_after_s: 12 });
    expect(events.at(-1)).toEqual({ type: 'error', code: 'rate_limited', retryAfterS: 12 });
    toChat();
    const s = sock();
    client.leave();
    expect(s.of('leave')).toHaveLength(1);
    vi.advanceTimersByTime(60_000);
    expect(sockets.at(-1)).toBe(s);
  });

  /** Only the exact `resumed` shape is accepted. */
  it('parses resumed strictly', () => {
    expect(parseResumed(`{"t":"resumed","conv":"${conv}"}`)).toEqual({ conv });
    expect(parseResumed(`{"t":"resumed","conv":"${conv}","have":6}`)).toEqual({ conv, have: 6 });
    expect(parseResumed(`{"t":"resumed","conv":"${conv}","have":-1}`)).toBeUndefined();
    expect(parseResumed(`{"t":"resumed","conv":"${conv}","x":1}`)).toBeUndefined();
    expect(parseResumed('{"t":"resumed","conv":"abc"}')).toBeUndefined();
  });
});

describe('visitor client, typing and giving up', () => {
  /** `typing on` once while writing, `off` after a pause or when the box is emptied. */
  it('sends typing on and off', () => {
    const counsellor = toChat();
    client.typing(true);
    client.typing(true);
    vi.advanceTimersByTime(4000);
    client.typing(true);
    client.typing(false);
    expect(counsellorReads(counsellor, sock().of('data'))).toEqual(['hello', 'typing:true', 'typing:false', 'typing:true', 'typing:false']);
    const kinds = sock().of('data').length;
    client.typing(false);
    expect(sock().of('data')).toHaveLength(kinds);
  });

  /** A relay that never answers while joining: after a few attempts, a plain connection_lost error. */
  it('gives up joining when the relay is unreachable', () => {
    client.join('da/exit');
    for (let i = 0; i < 6; i++) {
      sock().drop();
      vi.advanceTimersByTime(30_000);
    }
    expect(events.filter((e) => e.type === 'connection_lost')).toHaveLength(5);
    expect(events.at(-1)).toEqual({ type: 'error', code: 'connection_lost' });
    expect(sockets).toHaveLength(6);
  });
});
