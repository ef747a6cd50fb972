/** The widget's state machine: the screens a visitor sees for each event, resume paths and errors. */

import { describe, expect, it } from 'vitest';
import { etaMinutes, initialState, reduce } from '../src/widget/state.js';
import type { Event, State, StatusInfo } from '../src/widget/state.js';

const status: StatusInfo = {
  open: true, hours: 'always open', phone: { number: '+45 00', hours: '9-21' },
  queues: [{ id: 'da/exit', names: { da: 'Vil gerne ud', en: 'Getting out' }, etaS: 60 }],
};

const run = (events: Event[], from: State = initialState('da')): State => events.reduce(reduce, from);
const chatting = (): State => run([
  { type: 'status', status }, { type: 'join', queue: 'da/exit' }, { type: 'queued', position: 2, etaS: 130 },
  { type: 'assigned' }, { type: 'secured', alias: 'Ali', safetyCode: '123456' },
]);

describe('widget state', () => {
  /** queued → assigned → chat → ended, with position, rounded wait, alias and safety code. */
  it('walks the happy path', () => {
    let s = run([{ type: 'status', status }, { type: 'join', queue: 'da/exit' }]);
    expect(s.screen).toBe('joining');
    s = reduce(s, { type: 'queued', position: 3, etaS: 121 });
    expect([s.screen, s.position, s.etaMin]).toEqual(['queued', 3, 3]);
    expect(s.announce?.key).toBe('queuePosition');
    s = reduce(s, { type: 'queued', position: 1, etaS: 0 });
    expect([s.position, s.etaMin]).toEqual([1, 0]);
    s = reduce(s, { type: 'assigned' });
    expect(s.screen).toBe('securing');
    s = reduce(s, { type: 'secured', alias: 'Ali', safetyCode: '004211' });
    expect([s.screen, s.alias, s.safetyCode, s.epoch]).toEqual(['chat', 'Ali', '004211', 1]);
    s = reduce(s, { type: 'ended', reason: 'counsellor' });
    expect([s.screen, s.ended]).toEqual(['ended', 'counsellor']);
  });

  /** Wait estimates are whole minutes, rounded up. */
  it('rounds waits up', () => {
    expect([0, 1, 60, 61, 240].map(etaMinutes)).toEqual([0, 1, 1, 2, 4]);
  });

  /** Sent messages become read when the counsellor's `read{upto}` covers them, only in the same epoch. */
  it('marks messages sent and read', () => {
    let s = run([{ type: 'sent', n: 1, body: 'a', ts: 1, delivered: true }, { type: 'sent', n: 2, body: 'b', ts: 2, delivered: false }], chatting());
    expect(s.lines.map((l) => l.state)).toEqual(['sent', 'pending']);
    s = reduce(s, { type: 'delivered', upto: 2 });
    expect(s.lines.map((l) => l.state)).toEqual(['sent', 'sent']);
    s = reduce(s, { type: 'read', upto: 1 });
    expect(s.lines.map((l) => l.state)).toEqual(['read', 'sent']);
    s = reduce(s, { type: 'read', upto: 5 });
    expect(s.lines.map((l) => l.state)).toEqual(['read', 'read']);
  });

  /** A message received twice (replayed after a resume) is shown once. */
  it('never shows a message twice', () => {
    const msg: Event = { type: 'received', n: 3, body: 'hej', ts: 5 };
    const s = run([msg, msg, { type: 'sent', n: 1, body: 'x', ts: 1, delivered: true }, { type: 'sent', n: 1, body: 'x', ts: 1, delivered: true }], chatting());
    expect(s.lines.filter((l) => l.who === 'them')).toHaveLength(1);
    expect(s.lines.filter((l) => l.who === 'me')).toHaveLength(1);
  });

  /** Typing shows while the counsellor types and stops when their message arrives. */
  it('shows the counsellor typing', () => {
    let s = reduce(chatting(), { type: 'peer_typing', on: true });
    expect(s.peerTyping).toBe(true);
    s = reduce(s, { type: 'received', n: 1, body: 'x', ts: 1 });
    expect(s.peerTyping).toBe(false);
  });

  /** A lost connection shows a banner, and `resumed` clears it without leaving the chat. */
  it('resumes a chat', () => {
    let s = reduce(chatting(), { type: 'connection_lost' });
    expect([s.screen, s.online, s.announce?.key]).toEqual(['chat', false, 'reconnecting']);
    s = reduce(s, { type: 'reconnected' });
    expect([s.screen, s.online, s.announce?.key]).toEqual(['chat', true, 'reconnected']);
  });

  /** A resume the relay refuses ends the chat with its own explanation. */
  it('ends on resume_expired', () => {
    const s = run([{ type: 'connection_lost' }, { type: 'error', code: 'resume_expired' }], chatting());
    expect([s.screen, s.ended]).toEqual(['ended', 'resume_expired']);
  });

  /** A new `assigned` (transfer, counsellor reconnect) renews the session: a note with the new code, a new epoch. */
  it('renews the session', () => {
    let s = reduce(chatting(), { type: 'sent', n: 1, body: 'a', ts: 1, delivered: true });
    s = reduce(s, { type: 'secured', alias: 'Maja', safetyCode: '654321' });
    expect([s.screen, s.alias, s.safetyCode, s.epoch]).toEqual(['chat', 'Maja', '654321', 2]);
    const note = s.lines.at(-1);
    expect(note?.note).toEqual({ key: 'renewed', vars: { code: '654321' } });
    // Counter 1 of the new epoch is a new line, not a duplicate of the old epoch's 1.
    s = reduce(s, { type: 'sent', n: 1, body: 'b', ts: 2, delivered: true });
    expect(s.lines.filter((l) => l.who === 'me')).toHaveLength(2);
    s = reduce(s, { type: 'read', upto: 1 });
    expect(s.lines.filter((l) => l.who === 'me').map((l) => l.state)).toEqual(['sent', 'read']);
  });

  /**
   * A text the counsellor's console carries into a renewed session is shown once; the same
   * text twice within one session is two messages.
   */
  it('shows a carried text once', () => {
    let s = reduce(chatting(), { type: 'received', n: 1, body: 'hej', ts: 7 });
    s = reduce(s, { type: 'secured', alias: 'Maja', safetyCode: '654321' });
    s = reduce(s, { type: 'received', n: 1, body: 'hej', ts: 7 });
    expect(s.lines.filter((l) => l.who === 'them')).toHaveLength(1);
    s = reduce(s, { type: 'received', n: 2, body: 'ok', ts: 8 });
    s = reduce(s, { type: 'received', n: 3, body: 'ok', ts: 8 });
    expect(s.lines.filter((l) => l.who === 'them').map((l) => l.text)).toEqual(['hej', 'ok', 'ok']);
  });

  /** Transferred to a queue: back to the queue screen with a note, then a renewed session. */
  it('goes back to the queue on transfer', () => {
    let s = reduce(chatting(), { type: 'queued', position: 1, etaS: 30 });
    expect(s.screen).toBe('queued');
    expect(s.lines.at(-1)?.note?.key).toBe('requeued');
    s = run([{ type: 'assigned' }, { type: 'secured', alias: 'Maja', safetyCode: '000001' }], s);
    expect([s.screen, s.epoch, s.lines.at(-1)?.note?.key]).toEqual(['chat', 2, 'renewed']);
  });

  /** Join errors become a problem screen in plain words. */
  it.each([
    ['queue_full', { kind: 'queue_full' }], ['closed', { kind: 'closed' }], ['overloaded', { kind: 'overloaded' }],
    ['unknown_queue', { kind: 'unknown_queue' }], ['rate_limited', { kind: 'rate_limited', retryAfterS: 30 }],
  ])('shows %s as a problem', (code, problem) => {
    const s = run([{ type: 'status', status }, { type: 'join', queue: 'da/exit' }, { type: 'error', code, retryAfterS: 30 }]);
    expect(s.screen).toBe('problem');
    expect(s.problem).toEqual(problem);
  });

  /** "closed" cannot come from the server yet: a closed status stops the join before any socket. */
  it('refuses to join when closed', () => {
    const s = run([{ type: 'status', status: { ...status, open: false } }, { type: 'join', queue: 'da/exit' }]);
    expect([s.screen, s.problem]).toEqual(['problem', { kind: 'closed' }]);
  });

  /** A certificate or handshake failure ends the chat as crypto_failed. */
  it('ends on crypto failure', () => {
    const s = reduce(run([{ type: 'join', queue: 'da/exit' }, { type: 'queued', position: 1, etaS: 0 }, { type: 'assigned' }]), { type: 'ended', reason: 'crypto_failed' });
    expect([s.screen, s.ended]).toEqual(['ended', 'crypto_failed']);
  });

  /** Errors during a chat that are not about the chat do not end it. */
  it('ignores stray errors in a chat', () => {
    const s = reduce(chatting(), { type: 'error', code: 'not_found' });
    expect(s.screen).toBe('chat');
  });

  /** Starting again keeps the status and the language, and forgets the chat. */
  it('restarts', () => {
    const s = run([{ type: 'received', n: 1, body: 'x', ts: 1 }, { type: 'ended', reason: 'visitor' }, { type: 'lang', lang: 'en' }, { type: 'restart' }], chatting());
    expect([s.screen, s.lang, s.lines.length, s.alias, s.status]).toEqual(['start', 'en', 0, undefined, status]);
  });

  /** Events that do not belong to the screen are ignored. */
  it('ignores out-of-place events', () => {
    const start = run([{ type: 'status', status }]);
    for (const e of [{ type: 'queued', position: 1, etaS: 1 }, { type: 'assigned' }, { type: 'received', n: 0, body: 'x', ts: 1 }, { type: 'connection_lost' }] as Event[]) {
      expect(reduce(start, e)).toBe(start);
    }
  });
});

describe('widget state, giving up', () => {
  /** The client's own connection_lost while joining becomes a problem screen. */
  it('shows connection_lost as a problem', () => {
    const s = run([{ type: 'status', status }, { type: 'join', queue: 'da/exit' }, { type: 'connection_lost' }, { type: 'error', code: 'connection_lost' }]);
    expect([s.screen, s.problem, s.online]).toEqual(['problem', { kind: 'connection_lost' }, true]);
  });
});
