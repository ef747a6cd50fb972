/** The supervisor snapshot: the contract's JSON is read in full; anything else is refused with the field named. */

import { describe, expect, it } from 'vitest';
import { parseSnapshot } from '../src/staff/snapshot.js';
import { EXAMPLE } from './snapshot-example.js';

const clone = (): typeof EXAMPLE => JSON.parse(JSON.stringify(EXAMPLE)) as typeof EXAMPLE;

describe('snapshot', () => {
  /** Every figure of the contract's example arrives, camel-cased, tallies in the server's order. */
  it('reads the contract example', () => {
    const s = parseSnapshot(EXAMPLE);
    expect(s.queues).toEqual([{ id: 'da/exit', waiting: 2, longestWaitS: 75, etaS: 120 }]);
    expect(s.counsellors).toEqual({ available: 1, busy: 1, onBreak: 0, offline: 1 });
    expect(s.onDuty).toEqual([{ alias: 'Maja', state: 'busy', chats: 2, capacity: 2 }]);
    expect(s.load).toEqual({ chats: 3, capacity: 4 });
    expect(s.activeChats).toBe(3);
    expect(s.today.byChannel).toEqual([{ label: 'chat', count: 10 }, { label: 'phone', count: 2 }]);
    expect(s.today.byOutcome).toEqual([{ label: 'advice', count: 7 }, { label: 'referred', count: 1 }]);
    expect(s.today.byLanguage).toEqual([{ label: 'da', count: 9 }, { label: 'en', count: 3 }]);
    expect(s.today).toMatchObject({ date: '2026-11-23', contacts: 12, joined: 14, abandoned: 2, abandonRate: 0.143 });
    expect(s.today.waitS).toEqual({ p50: 30, p90: 80, p99: 120, count: 12 });
  });

  /** A relay from before `by_language` still gives a snapshot, with no languages. */
  it('reads a snapshot without languages', () => {
    const { by_language: _gone, ...today } = EXAMPLE.today;
    expect(parseSnapshot({ ...EXAMPLE, today }).today.byLanguage).toEqual([]);
  });

  /** A quiet morning: empty queues and tallies are fine. */
  it('reads an empty day', () => {
    const s = {
      ...EXAMPLE, queues: [], on_duty: [],
      today: { ...EXAMPLE.today, by_channel: {}, by_topic: {}, by_outcome: {}, abandon_rate: 0, wait_s: { p50: 0, p90: 0, p99: 0, count: 0 } },
    };
    expect(parseSnapshot(s).today.byTopic).toEqual([]);
    expect(parseSnapshot(s).queues).toEqual([]);
  });

  /** Negative, fractional or string counts, unknown states and rates above 1 are refused, naming the field. */
  it('refuses wrong values', () => {
    const cases: [(s: ReturnType<typeof clone>) => void, RegExp][] = [
      [(s) => { s.queues[0]!.waiting = -1; }, /queues\[0\]\.waiting/],
      [(s) => { s.queues[0]!.eta_s = 1.5; }, /queues\[0\]\.eta_s/],
      [(s) => { s.on_duty[0]!.state = 'asleep'; }, /on_duty\[0\]\.state/],
      [(s) => { s.today.abandon_rate = 1.2; }, /today\.abandon_rate/],
      [(s) => { (s.today.by_topic as Record<string, unknown>)['exit'] = '5'; }, /today\.by_topic\.exit/],
      [(s) => { (s.counsellors as Record<string, unknown>)['on_break'] = null; }, /counsellors\.on_break/],
      [(s) => { (s as Record<string, unknown>)['open'] = 1; }, /open/],
      [(s) => { s.today.date = 'today'; }, /today\.date/],
    ];
    for (const [spoil, field] of cases) {
      const s = clone();
      spoil(s);
      expect(() => parseSnapshot(s)).toThrow(field);
    }
    expect(() => parseSnapshot([EXAMPLE])).toThrow(/snapshot/);
  });
});
