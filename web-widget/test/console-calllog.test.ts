/**
 * Logging a phone call from the console: clock times read as the latest such times, the
 * relay's limits checked first, tags from the vocabulary only, and each call marked once the
 * relay has answered (counted, refused, or unconfirmed when the connection dropped).
 */

import { describe, expect, it } from 'vitest';
import type { CounsellorFrame } from '../src/proto/index.js';
import { callTimes, checkCall, defaultTimes } from '../src/console/calllog.js';
import type { CallForm } from '../src/console/calllog.js';
import { PendingRequests } from '../src/console/requests.js';
import { initialShift, reduceShift } from '../src/console/state.js';
import type { ShiftEvent } from '../src/console/state.js';

const vocab = { topics: ['exit', 'health'], outcomes: ['advice', 'referred'], channels: ['chat', 'phone'] };
/** 14:30 local time on some day. */
const at = (h: number, m: number, dayOffset = 0): number => new Date(2026, 10, 24 + dayOffset, h, m, 0, 0).getTime();
const NOW = at(14, 30);
const unix = (ms: number): number => ms / 1000;

const form = (over: Partial<CallForm> = {}): CallForm => ({ start: '14:05', end: '14:20', language: 'da', topics: ['exit'], outcome: 'advice', ...over });

describe('call times', () => {
  /** Typed times are today's when they have passed, else yesterday's; a call over midnight starts the day before. */
  it('reads clock times as the latest such times', () => {
    expect(callTimes('14:05', '14:20', NOW)).toEqual({ started: unix(at(14, 5)), ended: unix(at(14, 20)) });
    expect(callTimes('23:50', '00:10', at(0, 30))).toEqual({ started: unix(at(23, 50, -1)), ended: unix(at(0, 10)) });
    expect(callTimes('20:00', '20:30', NOW)).toEqual({ started: unix(at(20, 0, -1)), ended: unix(at(20, 30, -1)) });
    expect(callTimes('14:00', '14:33', NOW)).toEqual({ started: unix(at(14, 0)), ended: unix(at(14, 33)) });
    for (const bad of ['', '24:00', '9', '12:60', 'ab:cd']) expect(callTimes(bad, '14:00', NOW)).toBeUndefined();
  });

  /** The form opens on a call that just ended after ten minutes. */
  it('defaults to a call that just ended', () => {
    expect(defaultTimes(NOW)).toEqual({ start: '14:20', end: '14:30' });
  });
});

describe('the call form', () => {
  /** A good form becomes the `call_log` fields, channel phone. */
  it('makes the call log', () => {
    expect(checkCall(form(), vocab, ['da', 'en'], NOW)).toEqual({
      ok: true, log: { started: unix(at(14, 5)), ended: unix(at(14, 20)), language: 'da', tags: { topic: ['exit'], outcome: 'advice', channel: 'phone' } },
    });
    const noLang = checkCall(form({ language: '', topics: [] }), vocab, ['da'], NOW);
    expect(noLang.ok && noLang.log).toEqual({ started: unix(at(14, 5)), ended: unix(at(14, 20)), tags: { outcome: 'advice', channel: 'phone' } });
  });

  /** Each rule gives its problem. */
  it('refuses what the relay would refuse', () => {
    const problem = (over: Partial<CallForm>): string | undefined => {
      const r = checkCall(form(over), vocab, ['da', 'en'], NOW);
      return r.ok ? undefined : r.problem;
    };
    expect(problem({ start: 'x' })).toBe('time_format');
    expect(problem({ start: '01:00', end: '14:00' })).toBe('too_long');
    expect(problem({ language: 'fr' })).toBe('language');
    expect(problem({ outcome: undefined })).toBe('outcome_required');
    expect(problem({ topics: ['money'] })).toBe('not_in_vocabulary');
    expect(checkCall(form(), { ...vocab, channels: [] }, ['da'], NOW)).toEqual({ ok: false, problem: 'channel_required' });
  });
});

describe('logged calls', () => {
  /** The relay answers call logs in order: counted, refused with its reason; a drop leaves the rest unconfirmed. */
  it('marks each call by the relay answer', () => {
    const frames: CounsellorFrame[] = [];
    let state = initialShift();
    let up = true;
    const p = new PendingRequests({
      sendApp: () => false, sendFrame: (f) => { if (up) frames.push(f); return up; },
      dispatch: (e: ShiftEvent) => { state = reduceShift(state, e); }, nowS: () => 0,
    });
    const log = { started: 100, ended: 200, tags: { outcome: 'advice' } };
    for (const key of [1, 2, 3]) {
      expect(p.logCall(key, log)).toBe(true);
      state = reduceShift(state, { type: 'call_sent', key, log });
    }
    expect(frames).toEqual([1, 2, 3].map(() => ({ t: 'call_log', ...log })));
    p.onCallLogged();
    expect(p.onError('bad_frame', 'a call log needs started <= ended')).toBe(true);
    p.onDrop();
    expect(state.calls.map((c) => [c.key, c.status, c.detail])).toEqual([
      [1, 'counted', undefined], [2, 'refused', 'bad_frame: a call log needs started <= ended'], [3, 'unconfirmed', undefined],
    ]);
    // Nothing waits now: an error is someone else's, and a frame that cannot be sent is not logged.
    expect(p.onError('bad_frame', 'x')).toBe(false);
    up = false;
    expect(p.logCall(4, log)).toBe(false);
  });
});
