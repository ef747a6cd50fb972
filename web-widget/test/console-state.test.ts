/** The shift's pure state: chats (lines, unread, read, typing, renewal), offers and their countdown, duty, tags. */

import { describe, expect, it } from 'vitest';
import { liveCount, reduceChats } from '../src/console/chats.js';
import type { Chat, ChatEvent } from '../src/console/chats.js';
import { clock, offerFromFrame, openOffers, secondsLeft } from '../src/console/offer.js';
import { initialShift, reduceShift } from '../src/console/state.js';
import type { ShiftEvent, ShiftState } from '../src/console/state.js';
import { checkTags } from '../src/console/tags.js';
import { clearDuty, loadDuty, saveDuty } from '../src/console/resume.js';

const A = 'A'.repeat(22);
const B = 'B'.repeat(22);

function chats(...events: ChatEvent[]): readonly Chat[] {
  return events.reduce<readonly Chat[]>((c, e) => reduceChats(c, e), []);
}
function shift(...events: ShiftEvent[]): ShiftState {
  return events.reduce(reduceShift, initialShift());
}
const secure = (conv = A): ChatEvent[] => [
  { type: 'chat_accepted', conv, queue: 'da/exit' }, { type: 'chat_handshake', conv }, { type: 'chat_secured', conv, safetyCode: '123456', nowS: 1 },
];

describe('chats', () => {
  /** A chat is securing until the visitor's hello, then secure with its safety code noted. */
  it('turns secure with a safety code', () => {
    const [c] = chats(...secure());
    expect(c).toMatchObject({ phase: 'secure', epoch: 1, safetyCode: '123456', queue: 'da/exit' });
    expect(c!.lines).toEqual([{ id: 'note:0', who: 'note', text: '123456', ts: 1, note: 'secured' }]);
  });

  /** Unread counts grow for unseen messages and clear when the chat is seen; a message is never shown twice. */
  it('counts unread messages', () => {
    const msg = (n: number, seen = false): ChatEvent => ({ type: 'chat_received', conv: A, n, body: `m${n}`, ts: 2, seen });
    let c = chats(...secure(), msg(1), msg(2), msg(2));
    expect(c[0]!.unread).toBe(2);
    expect(c[0]!.lines.filter((l) => l.who === 'them')).toHaveLength(2);
    c = reduceChats(c, { type: 'chat_seen', conv: A });
    expect(c[0]!.unread).toBe(0);
    c = reduceChats(c, msg(3, true));
    expect(c[0]!.unread).toBe(0);
  });

  /** The visitor's read receipt marks the counsellor's messages up to its counter as read, only in this epoch. */
  it('marks messages read', () => {
    const c = chats(...secure(),
      { type: 'chat_sent', conv: A, n: 0, body: 'a', ts: 1 }, { type: 'chat_sent', conv: A, n: 1, body: 'b', ts: 1 },
      { type: 'chat_peer_read', conv: A, upto: 0 });
    expect(c[0]!.lines.filter((l) => l.who === 'me').map((l) => l.state)).toEqual(['read', 'sent']);
  });

  /** Typing shows until the message arrives. */
  it('tracks typing', () => {
    let c = chats(...secure(), { type: 'chat_peer_typing', conv: A, on: true });
    expect(c[0]!.peerTyping).toBe(true);
    c = reduceChats(c, { type: 'chat_received', conv: A, n: 1, body: 'x', ts: 1, seen: false });
    expect(c[0]!.peerTyping).toBe(false);
  });

  /** After a reconnect the chat renews: new epoch, new code, a note; old lines stay. */
  it('renews after a dropped connection', () => {
    const c = chats(...secure(), { type: 'chat_received', conv: A, n: 1, body: 'before', ts: 1, seen: true },
      { type: 'chats_link_lost', nowS: 2 }, { type: 'chat_resumed', conv: A, nowS: 3 }, { type: 'chat_handshake', conv: A },
      { type: 'chat_secured', conv: A, safetyCode: '654321', nowS: 4 }, { type: 'chat_received', conv: A, n: 1, body: 'after', ts: 5, seen: true });
    expect(c[0]).toMatchObject({ epoch: 2, safetyCode: '654321', phase: 'secure' });
    expect(c[0]!.lines.map((l) => l.note ?? l.text)).toEqual(['secured', 'before', 'link_lost', 'renewed', 'after']);
  });

  /** After a reload, a chat the relay gives back starts empty and says its earlier messages are not kept here. */
  it('comes back after a reload without its transcript', () => {
    const c = chats({ type: 'chat_resumed', conv: B, nowS: 9 }, { type: 'chat_handshake', conv: B }, { type: 'chat_secured', conv: B, safetyCode: '000042', nowS: 10 });
    expect(c[0]!.lines.map((l) => l.note)).toEqual(['renewed_after_reload', 'renewed']);
    expect(c[0]!.queue).toBe('');
  });

  /** A visitor transferred back to this console continues the same chat, transcript kept, under a renewed session. */
  it('takes a visitor back', () => {
    const c = chats(...secure(), { type: 'chat_ended', conv: A, reason: 'transferred', nowS: 2 }, ...secure());
    expect(c[0]).toMatchObject({ phase: 'secure', epoch: 2 });
    expect(c[0]!.lines.map((l) => l.note)).toEqual(['secured', 'transferred', 'renewed']);
  });

  /** An ended chat keeps its lines until closed and no longer counts as live. */
  it('ends and closes', () => {
    let c = chats(...secure(), ...secure(B), { type: 'chat_ended', conv: A, reason: 'visitor_left', nowS: 5 });
    expect(c[0]!.phase).toBe('ended');
    expect(liveCount(c)).toBe(1);
    c = reduceChats(c, { type: 'chat_received', conv: A, n: 1, body: 'late', ts: 6, seen: false });
    expect(c[0]!.lines.some((l) => l.text === 'late')).toBe(false);
    c = reduceChats(c, { type: 'chat_closed', conv: A });
    expect(c.map((x) => x.conv)).toEqual([B]);
  });
});

describe('offers', () => {
  /** The countdown rounds up and stops at zero; expired offers are hidden. */
  it('counts down', () => {
    const o = offerFromFrame({ conv: A, queue: 'da/exit', waited_s: 65, expires_s: 30 }, 1000);
    expect(secondsLeft(o, 1000)).toBe(30);
    expect(secondsLeft(o, 1001)).toBe(30);
    expect(secondsLeft(o, 30_999)).toBe(1);
    expect(secondsLeft(o, 31_000)).toBe(0);
    expect(openOffers([o], 31_000)).toEqual([]);
    expect(clock(65)).toBe('1:05');
  });
});

describe('the shift', () => {
  const offer = (conv: string): ShiftEvent => ({ type: 'offer', offer: { conv, queue: 'da/exit', waitedS: 0, expiresAtMs: 1e13 } });

  /** Duty goes starting → on; a refusal goes back off with the relay's reason. */
  it('goes on duty or is refused', () => {
    const settings = { langs: ['da'], topics: ['exit'], capacity: 2 };
    expect(shift({ type: 'duty_requested', settings }, { type: 'duty_confirmed' }).duty).toBe('on');
    const refused = shift({ type: 'duty_requested', settings }, { type: 'duty_refused', message: 'expired' });
    expect(refused).toMatchObject({ duty: 'off', notice: { key: 'duty_refused', detail: 'expired' } });
  });

  /** Accepting moves an offer into the chats and shows it; declining drops it; duplicates are ignored. */
  it('accepts and declines offers', () => {
    const s = shift(offer(A), offer(A), offer(B), { type: 'chat_accepted', conv: A, queue: 'da/exit' }, { type: 'offer_declined', conv: B });
    expect(s.offers).toEqual([]);
    expect(s.chats.map((c) => c.conv)).toEqual([A]);
    expect(s.active).toBe(A);
  });

  /** Selecting a chat shows it and clears its unread count; closing the shown chat shows the next. */
  it('selects chats', () => {
    let s = shift(...secure(A), ...secure(B), { type: 'chat_received', conv: B, n: 1, body: 'x', ts: 1, seen: false });
    expect(s.active).toBe(A);
    expect(s.chats[1]!.unread).toBe(1);
    s = reduceShift(s, { type: 'select', conv: B });
    expect(s.active).toBe(B);
    expect(s.chats[1]!.unread).toBe(0);
    s = reduceShift(s, { type: 'chat_closed', conv: B });
    expect(s.active).toBe(A);
  });

  /** A lost connection drops the offers and marks live chats as renewing; missed offers put the counsellor on a break. */
  it('handles a lost link and missed offers', () => {
    let s = shift({ type: 'link', link: 'online' }, ...secure(A), offer(B), { type: 'link', link: 'reconnecting' });
    expect(s.offers).toEqual([]);
    expect(s.chats[0]!.phase).toBe('securing');
    expect(s.notice?.key).toBe('link_lost');
    s = reduceShift(reduceShift(s, { type: 'duty_requested', settings: { langs: ['da'], topics: ['exit'], capacity: 1 } }), { type: 'break', on: true, missedOffers: true });
    expect(s).toMatchObject({ duty: 'break', notice: { key: 'missed_offers' } });
  });
});

describe('tags', () => {
  const vocab = { topics: ['exit', 'health'], outcomes: ['advice', 'referred'], channels: ['chat', 'phone'] };

  /** Only listed categories pass; an outcome and a channel are required; topics are deduplicated. */
  it('allows only the vocabulary', () => {
    expect(checkTags({ topics: ['exit', 'exit'], outcome: 'advice', channel: 'chat' }, vocab))
      .toEqual({ ok: true, tags: { topic: ['exit'], outcome: 'advice', channel: 'chat' } });
    expect(checkTags({ topics: [], outcome: 'advice', channel: 'phone' }, vocab)).toEqual({ ok: true, tags: { outcome: 'advice', channel: 'phone' } });
    expect(checkTags({ topics: [], outcome: undefined, channel: 'chat' }, vocab)).toEqual({ ok: false, problem: 'outcome_required' });
    expect(checkTags({ topics: [], outcome: 'advice', channel: undefined }, vocab)).toEqual({ ok: false, problem: 'channel_required' });
    expect(checkTags({ topics: ['Her name is Anna'], outcome: 'advice', channel: 'chat' }, vocab)).toEqual({ ok: false, problem: 'not_in_vocabulary' });
    expect(checkTags({ topics: [], outcome: 'other', channel: 'chat' }, vocab)).toEqual({ ok: false, problem: 'not_in_vocabulary' });
  });
});

describe('duty across a reload', () => {
  /** Only languages, topics, capacity and the break survive; anything else in storage is ignored. */
  it('saves and loads exactly the duty choice', () => {
    const map = new Map<string, string>();
    const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k) };
    expect(loadDuty(storage)).toBeUndefined();
    saveDuty(storage, { langs: ['da', 'en'], topics: ['exit'], capacity: 2, onBreak: false });
    expect(loadDuty(storage)).toEqual({ langs: ['da', 'en'], topics: ['exit'], capacity: 2, onBreak: false });
    map.set('lyt-console-duty', '{"langs":["da"],"topics":["<b>"],"capacity":2,"onBreak":false}');
    expect(loadDuty(storage)).toBeUndefined();
    map.set('lyt-console-duty', 'not json');
    expect(loadDuty(storage)).toBeUndefined();
    saveDuty(storage, { langs: ['da'], topics: ['exit'], capacity: 1, onBreak: true });
    clearDuty(storage);
    expect(loadDuty(storage)).toBeUndefined();
  });
});
