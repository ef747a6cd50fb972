/** The counsellor connection against a fake relay and a real visitor session: auth, duty, offers, handshake, messages, renewal, failures. */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  b64Decode, b64Encode, Initiator, offerHash, openReferral, openReferralPlaintext, prologue, receiveMessage, sealedFromWire, sendMessage,
  verifyBundle, x25519Public,
} from '../src/proto/index.js';
import { checkForm } from '../src/console/referral.js';
import type { AppMessage, Session } from '../src/proto/index.js';
import { DUTY_CONFIRM_MS, ShiftConnection } from '../src/console/connection.js';
import { startShift } from '../src/console/shift.js';
import type { Shift } from '../src/console/shift.js';
import type { ShiftEvent } from '../src/console/state.js';
import { FakeSocket, identity, NOW } from './console-fixtures.js';

const conv = b64Encode(new Uint8Array(16).fill(9));
const settings = { langs: ['da'], topics: ['exit'], capacity: 2 };

let sockets: FakeSocket[];
let events: ShiftEvent[];
let seen: boolean;
let shift: Shift;
let root: Uint8Array;
let conn: ShiftConnection;
const sock = (): FakeSocket => sockets.at(-1)!;
const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

let signing: { sign: (m: Uint8Array) => Promise<Uint8Array>; idCert: Uint8Array; alias: string };

beforeEach(async () => {
  const id = identity();
  signing = { sign: (m) => id.signer.sign(m), idCert: id.idCert, alias: 'Maja' };
  root = id.root;
  shift = await startShift(id.signer, id.idCert, id.root, Math.floor(Date.now() / 1000));
  sockets = [];
  events = [];
  seen = false;
  conn = new ShiftConnection({
    url: 'ws://relay/v1/counsellor',
    ticket: () => Promise.resolve('ticket-1'),
    openSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    dispatch: (e) => events.push(e),
    nowMs: () => NOW * 1000,
    isSeen: () => seen,
    identity: signing,
  }, shift);
});
afterEach(() => {
  conn.close();
  vi.useRealTimers();
});

/** Connects, authenticates and goes on duty. */
async function onDuty(): Promise<void> {
  conn.goOnDuty(settings);
  sock().open();
  await flush();
  expect(sock().of('auth')).toEqual([{ t: 'auth', ticket: 'ticket-1' }]);
  sock().push({ t: 'welcome', alias: 'Maja', role: 'counsellor' });
}

/** As `onDuty`, on fake timers (the reconnect backoff is then driven by the test). */
async function onDutyFakeTimers(): Promise<void> {
  vi.useFakeTimers();
  conn.goOnDuty(settings);
  sock().open();
  await vi.runOnlyPendingTimersAsync();
  sock().push({ t: 'welcome', alias: 'Maja', role: 'counsellor' });
}

/** The visitor's side of a handshake for `conv` against the bundle sent on duty. */
function visitorHandshake(s: FakeSocket = sock()): Session {
  const bundle = s.of('duty').at(-1)!['bundle'] as { id_cert: string; shift_cert: string };
  const v = verifyBundle(root, bundle, Math.floor(Date.now() / 1000));
  const { initiator, msg1 } = Initiator.start(v.shiftPub, prologue(b64Decode(conv), v.bundleHash));
  s.push({ t: 'hs1', conv, m: b64Encode(msg1) });
  const hs2 = s.of('hs2').at(-1)!;
  expect(hs2['conv']).toBe(conv);
  return initiator.readMessage2(b64Decode(hs2['m'] as string));
}

function visitorSends(session: Session, msg: AppMessage): void {
  const { n, ct } = sendMessage(session, msg);
  sock().push({ t: 'data', conv, n, m: b64Encode(ct) });
}

/** What the visitor reads of the console's data frames from index `from`. */
function visitorReads(session: Session, from = 0): AppMessage[] {
  return sock().of('data').slice(from).map((f) => receiveMessage(session, f['n'] as number, b64Decode(f['m'] as string)).message);
}

describe('duty', () => {
  /** Auth with the ticket first, then duty with skills, capacity and a bundle the org root vouches for. */
  it('goes on duty with a verifiable bundle', async () => {
    await onDuty();
    const duty = sock().of('duty')[0]!;
    expect(duty).toMatchObject({ on: true, skills: { langs: ['da'], topics: ['exit'] }, capacity: 2 });
    expect(verifyBundle(root, duty['bundle'] as { id_cert: string; shift_cert: string }, Math.floor(Date.now() / 1000)).alias).toBe('Maja');
    expect(events).toContainEqual({ type: 'link', link: 'online' });
  });

  /** The relay answers only refusals: no error for a while means on duty; an error means refused. */
  it('confirms duty after silence and reports a refusal', async () => {
    await onDutyFakeTimers();
    sock().push({ t: 'error', code: 'forbidden', message: 'certificate bundle refused: expired' });
    expect(events).toContainEqual({ type: 'duty_refused', message: 'certificate bundle refused: expired' });
    await vi.advanceTimersByTimeAsync(DUTY_CONFIRM_MS * 2);
    expect(events.some((e) => e.type === 'duty_confirmed')).toBe(false);

    conn.goOnDuty(settings);
    await vi.advanceTimersByTimeAsync(DUTY_CONFIRM_MS);
    expect(events.filter((e) => e.type === 'duty_confirmed')).toHaveLength(1);
  });

  /** Break and end of shift send their frames; ending forgets the shift key. */
  it('takes a break and ends the shift', async () => {
    await onDuty();
    conn.setBreak(true);
    expect(sock().of('break')).toEqual([{ t: 'break', on: true }]);
    const s = sock();
    conn.endShift();
    expect(s.of('duty').at(-1)).toEqual({ t: 'duty', on: false });
    expect(s.readyState).toBe(3);
    expect(() => shift.respond(conv, 'AAAA')).toThrow(/ended/);
  });
});

describe('a chat', () => {
  /** Offer → accept → handshake → hello: secure, with the visitor's safety code; text both ways; read receipts both ways. */
  it('runs end to end', async () => {
    await onDuty();
    sock().push({ t: 'offer', conv, queue: 'da/exit', waited_s: 12, expires_s: 30 });
    expect(events).toContainEqual({ type: 'offer', offer: { conv, queue: 'da/exit', waitedS: 12, expiresAtMs: (NOW + 30) * 1000 } });
    conn.accept({ conv, queue: 'da/exit' });
    expect(sock().of('accept')).toEqual([{ t: 'accept', conv }]);
    const visitor = visitorHandshake();
    visitorSends(visitor, { k: 'hello' });
    expect(events).toContainEqual({ type: 'chat_secured', conv, safetyCode: visitor.safetyCode, nowS: NOW });

    seen = true;
    visitorSends(visitor, { k: 'text', body: 'hej', ts: NOW });
    expect(events).toContainEqual({ type: 'chat_received', conv, n: 1, body: 'hej', ts: NOW, seen: true });
    expect(sock().of('ack').at(-1)).toEqual({ t: 'ack', conv, upto: 1 });
    expect(conn.sendText(conv, 'Hej, jeg hedder Maja')).toBe(true);
    expect(visitorReads(visitor)).toEqual([{ k: 'read', upto: 1 }, { k: 'text', body: 'Hej, jeg hedder Maja', ts: NOW }]);

    visitorSends(visitor, { k: 'read', upto: 1 });
    expect(events).toContainEqual({ type: 'chat_peer_read', conv, upto: 1 });
    visitorSends(visitor, { k: 'typing', on: true });
    expect(events).toContainEqual({ type: 'chat_peer_typing', conv, on: true });
  });

  /** A message that arrives while the chat is not looked at gets its read receipt only when it is. */
  it('sends read receipts when the chat is seen', async () => {
    await onDuty();
    conn.accept({ conv, queue: 'da/exit' });
    const visitor = visitorHandshake();
    visitorSends(visitor, { k: 'hello' });
    visitorSends(visitor, { k: 'text', body: 'a', ts: NOW });
    expect(sock().of('data')).toHaveLength(0);
    conn.markSeen(conv);
    conn.markSeen(conv);
    expect(visitorReads(visitor)).toEqual([{ k: 'read', upto: 1 }]);
  });

  /** A replayed frame (the visitor resending after a resume) is dropped, not shown twice and not fatal. */
  it('drops replays', async () => {
    await onDuty();
    conn.accept({ conv, queue: 'da/exit' });
    const visitor = visitorHandshake();
    const hello = sendMessage(visitor, { k: 'hello' });
    const frame = { t: 'data', conv, n: hello.n, m: b64Encode(hello.ct) };
    sock().push(frame);
    sock().push(frame);
    expect(events.filter((e) => e.type === 'chat_secured')).toHaveLength(1);
    expect(events.some((e) => e.type === 'chat_ended')).toBe(false);
  });

  /** A frame that does not decrypt ends the chat on this side (`end`, crypto_failed); nothing more is sent. */
  it('ends the chat on a decryption failure', async () => {
    await onDuty();
    conn.accept({ conv, queue: 'da/exit' });
    visitorHandshake();
    sock().push({ t: 'data', conv, n: 0, m: b64Encode(new Uint8Array(300)) });
    expect(sock().of('end')).toEqual([{ t: 'end', conv, tags: {} }]);
    expect(events).toContainEqual({ type: 'chat_ended', conv, reason: 'crypto_failed', nowS: NOW });
    expect(conn.sendText(conv, 'x')).toBe(false);
  });

  /** An hs1 for a conversation this console never accepted is ignored. */
  it('ignores foreign handshakes', async () => {
    await onDuty();
    sock().push({ t: 'hs1', conv, m: b64Encode(new Uint8Array(48)) });
    expect(sock().of('hs2')).toHaveLength(0);
  });

  /** Ending says `bye` to the visitor, then `end` with tags; the relay's `ended` closes the chat. */
  it('ends with bye and tags', async () => {
    await onDuty();
    conn.accept({ conv, queue: 'da/exit' });
    const visitor = visitorHandshake();
    visitorSends(visitor, { k: 'hello' });
    conn.end(conv, { topic: ['exit'], outcome: 'advice', channel: 'chat' });
    expect(visitorReads(visitor)).toEqual([{ k: 'bye', reason: 'counsellor_ended' }]);
    expect(sock().of('end')).toEqual([{ t: 'end', conv, tags: { topic: ['exit'], outcome: 'advice', channel: 'chat' } }]);
    sock().push({ t: 'ended', conv, reason: 'counsellor_ended' });
    expect(events.at(-1)).toEqual({ type: 'chat_closed', conv });
  });

  /** Transfer to a colleague sends the alias as the relay's slug; the relay's `ended{transferred}` reaches the chat. */
  it('transfers', async () => {
    await onDuty();
    conn.accept({ conv, queue: 'da/exit' });
    conn.transfer(conv, { alias: 'Ali' });
    conn.transfer(conv, { queue: 'en/exit' });
    expect(sock().of('transfer')).toEqual([{ t: 'transfer', conv, to: { alias: 'ali' } }, { t: 'transfer', conv, to: { queue: 'en/exit' } }]);
    sock().push({ t: 'ended', conv, reason: 'transferred' });
    expect(events.at(-1)).toEqual({ type: 'chat_ended', conv, reason: 'transferred', nowS: NOW });
  });

  /** Accepting just as the offer expires: the chat that never began is removed. */
  it('drops a chat whose offer expired as it was accepted', async () => {
    await onDuty();
    conn.accept({ conv, queue: 'da/exit' });
    sock().push({ t: 'error', code: 'conflict', message: 'offer no longer open' });
    sock().push({ t: 'ended', conv, reason: 'offer_expired' });
    expect(events.at(-1)).toEqual({ type: 'chat_closed', conv });
  });

  /** An offer that goes away is removed. */
  it('drops withdrawn offers', async () => {
    await onDuty();
    sock().push({ t: 'offer', conv, queue: 'da/exit', waited_s: 1, expires_s: 30 });
    sock().push({ t: 'ended', conv, reason: 'offer_expired' });
    expect(events.at(-1)).toEqual({ type: 'offer_gone', conv, reason: 'offer_expired' });
  });
});

describe('a dropped connection', () => {
  /** The console reconnects with a new ticket, goes on duty again with the same bundle, and renews each chat's session. */
  it('reconnects and renews the session', async () => {
    await onDutyFakeTimers();
    conn.accept({ conv, queue: 'da/exit' });
    const first = visitorHandshake();
    visitorSends(first, { k: 'hello' });
    const oldSocket = sock();
    const bundle = oldSocket.of('duty')[0]!['bundle'];

    oldSocket.drop();
    expect(events).toContainEqual({ type: 'link', link: 'reconnecting' });
    expect(conn.sendText(conv, 'lost?')).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets).toHaveLength(2);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    sock().push({ t: 'welcome', alias: 'Maja', role: 'counsellor' });
    expect(sock().of('duty')[0]!['bundle']).toEqual(bundle);
    sock().push({ t: 'resumed', conv });
    expect(events).toContainEqual({ type: 'chat_resumed', conv, nowS: NOW });
    const second = visitorHandshake();
    visitorSends(second, { k: 'hello' });
    const codes = events.filter((e) => e.type === 'chat_secured').map((e) => (e as { safetyCode: string }).safetyCode);
    expect(codes).toEqual([first.safetyCode, second.safetyCode]);
    expect(conn.sendText(conv, 'back')).toBe(true);
  });

  /**
   * Texts the visitor never confirmed with `read` are carried into the renewed session and
   * sent again, once, after the visitor's `hello`; a confirmed one is not.
   */
  it('carries unconfirmed texts into the renewed session', async () => {
    await onDutyFakeTimers();
    conn.accept({ conv, queue: 'da/exit' });
    const first = visitorHandshake();
    visitorSends(first, { k: 'hello' });
    expect(conn.sendText(conv, 'read it')).toBe(true);
    expect(conn.sendText(conv, 'lost in the drop')).toBe(true);
    visitorSends(first, { k: 'read', upto: 0 });
    sock().drop();
    await vi.advanceTimersByTimeAsync(1000);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    sock().push({ t: 'welcome', alias: 'Maja', role: 'counsellor' });
    sock().push({ t: 'resumed', conv });
    const second = visitorHandshake();
    expect(sock().of('data')).toEqual([]);
    visitorSends(second, { k: 'hello' });
    expect(visitorReads(second)).toEqual([{ k: 'text', body: 'lost in the drop', ts: NOW }]);
    // Once only: a later renewal carries it again only if it is still unconfirmed.
    visitorSends(second, { k: 'read', upto: 0 });
    expect(events.filter((e) => e.type === 'chat_sent')).toHaveLength(2);
  });

  /** Callback requests and their `callback_done` with tags. */
  it('lists callbacks and marks them done', async () => {
    await onDuty();
    const item = { id: conv, queue: 'da/phone', sealed: { enc: b64Encode(new Uint8Array(32)), ct: b64Encode(new Uint8Array(40)) }, age_s: 5 };
    sock().push({ t: 'callbacks', items: [item] });
    expect(events.at(-1)).toEqual({ type: 'callbacks', items: [item] });
    conn.callbackDone(conv, { outcome: 'advice', channel: 'phone' });
    expect(sock().of('callback_done')).toEqual([{ t: 'callback_done', id: conv, tags: { outcome: 'advice', channel: 'phone' } }]);
  });
});

describe('referrals and call logs', () => {
  const officeSecret = crypto.getRandomValues(new Uint8Array(32));
  const office = { id: 'bro-kbh', name: 'Bro KBH', municipality: 'København', address: 'Gade 1', hours: 'Mon 10-12', recipientPub: x25519Public(officeSecret) };
  const checked = checkForm({ officeId: 'bro-kbh', needs: ['health'], contactMode: 'code', contact: '', language: 'da', interpreter: false, safety: '', note: '' }, [office]);
  if (!checked.ok) throw new Error('bad form');
  const draft = checked.draft;

  /** A live chat; returns the visitor's session. */
  async function liveChat(): Promise<Session> {
    await onDuty();
    sock().push({ t: 'offer', conv, queue: 'da/exit', waited_s: 1, expires_s: 30 });
    conn.accept({ conv, queue: 'da/exit' });
    const visitor = visitorHandshake();
    visitorSends(visitor, { k: 'hello' });
    return visitor;
  }

  /** Offer in the chat → a consent for another offer does nothing → yes to this one: signed, sealed, sent; stored → the code to the visitor. */
  it('seals on the visitor\'s yes and gives the code', async () => {
    const visitor = await liveChat();
    expect(conn.requests.referrals.offer(conv, draft)).toBeUndefined();
    const f = sock().of('data').at(-1)!;
    const received = receiveMessage(visitor, f['n'] as number, b64Decode(f['m'] as string));
    expect(received.message).toMatchObject({ k: 'referral_offer', office_id: 'bro-kbh', office_name: 'Bro KBH' });
    const hash = offerHash(received.json);
    const seenData = sock().of('data').length;
    visitorSends(visitor, { k: 'referral_consent', offer_hash: new Uint8Array(32), yes: true });
    await flush();
    expect(sock().of('referral')).toEqual([]);
    visitorSends(visitor, { k: 'referral_consent', offer_hash: hash, yes: true });
    await flush();
    const ref = sock().of('referral')[0]!;
    expect(ref).toMatchObject({ t: 'referral', conv, office_id: 'bro-kbh' });
    const rid = b64Decode(ref['id'] as string);
    const plaintext = openReferral('bro-kbh', officeSecret, rid, sealedFromWire(ref['sealed'] as { enc: string; ct: string }));
    const opened = openReferralPlaintext(root, 'bro-kbh', rid, plaintext, NOW);
    expect(JSON.parse(new TextDecoder().decode(opened.body))).toMatchObject({ needs: ['health'], contact: 'will quote the code', counsellor_alias: 'Maja' });

    sock().push({ t: 'referral_stored', conv, code: 'BRO-AB12-CD34' });
    expect(visitorReads(visitor, seenData)).toEqual([{ k: 'referral_code', code: 'BRO-AB12-CD34', office_name: 'Bro KBH', address: 'Gade 1', hours: 'Mon 10-12' }]);
    const steps = events.flatMap((e) => (e.type === 'chat_referral' ? [e.status.step] : []));
    expect(steps).toEqual(['offered', 'not_this_offer', 'sealing', 'sent', 'stored']);
  });

  /** The relay's refusal of a waiting referral is shown in the chat, not as a general notice; a no seals nothing. */
  it('reports refusals and seals nothing on a no', async () => {
    const visitor = await liveChat();
    conn.requests.referrals.offer(conv, draft);
    let f = sock().of('data').at(-1)!;
    visitorSends(visitor, { k: 'referral_consent', offer_hash: offerHash(receiveMessage(visitor, f['n'] as number, b64Decode(f['m'] as string)).json), yes: true });
    await flush();
    sock().push({ t: 'error', code: 'not_found', message: 'no such brobygger office' });
    expect(events.at(-1)).toMatchObject({ type: 'chat_referral', conv, status: { step: 'refused', detail: 'not_found: no such brobygger office' } });
    expect(events.some((e) => e.type === 'notice')).toBe(false);

    conn.requests.referrals.offer(conv, draft);
    f = sock().of('data').at(-1)!;
    visitorSends(visitor, { k: 'referral_consent', offer_hash: offerHash(receiveMessage(visitor, f['n'] as number, b64Decode(f['m'] as string)).json), yes: false });
    await flush();
    expect(sock().of('referral')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'chat_referral', status: { step: 'declined' } });
  });

  /** Call logs go out as `call_log`; `call_logged` and a refusal mark them in order. */
  it('logs calls', async () => {
    await onDuty();
    // Duty counts as accepted at the first offer (until then a refusal would be duty's).
    sock().push({ t: 'offer', conv, queue: 'da/exit', waited_s: 1, expires_s: 30 });
    const log = { started: NOW - 600, ended: NOW - 60, language: 'da', tags: { outcome: 'advice', channel: 'phone' } };
    expect(conn.requests.logCall(1, log)).toBe(true);
    expect(conn.requests.logCall(2, log)).toBe(true);
    expect(sock().of('call_log')).toEqual([{ t: 'call_log', ...log }, { t: 'call_log', ...log }]);
    sock().push({ t: 'call_logged', started: NOW - 600, ended: NOW - 60 });
    sock().push({ t: 'error', code: 'bad_frame', message: 'unknown topic' });
    expect(events.filter((e) => e.type === 'call_result')).toEqual([
      { type: 'call_result', key: 1, ok: true }, { type: 'call_result', key: 2, ok: false, detail: 'bad_frame: unknown topic' },
    ]);
  });
});
