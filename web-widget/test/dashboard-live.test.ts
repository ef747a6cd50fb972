/** The live feed: snapshots flow, a dropped or silent stream reconnects with backoff, a refused session stops it. */

import { describe, expect, it } from 'vitest';
import { backoffMs, type Clock, type FeedStatus, LiveFeed, QUIET_MS } from '../src/dashboard/live.js';
import type { Snapshot } from '../src/staff/snapshot.js';
import { EXAMPLE } from './snapshot-example.js';

/** Timers run by hand. */
class FakeClock implements Clock {
  timers = new Map<number, { fn: () => void; ms: number }>();
  private next = 1;
  setTimeout(fn: () => void, ms: number): number {
    this.timers.set(this.next, { fn, ms });
    return this.next++;
  }
  clearTimeout(id: number): void {
    this.timers.delete(id);
  }
  /** Runs the pending timer of `ms` milliseconds. */
  fire(ms: number): void {
    const entry = [...this.timers].find(([, t]) => t.ms === ms);
    if (entry === undefined) throw new Error(`no ${ms} ms timer; pending: ${[...this.timers.values()].map((t) => t.ms).join(', ')}`);
    this.timers.delete(entry[0]);
    entry[1].fn();
  }
}

const event = (data: unknown): string => `event: snapshot\ndata: ${JSON.stringify(data)}\n\n`;

/** A response streaming `chunks`, then ending unless `open`. */
function stream(chunks: string[], open = false): Response {
  const enc = new TextEncoder();
  return new Response(new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      if (!open) c.close();
    },
  }), { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

function setup(answers: (() => Response)[]): { feed: LiveFeed; clock: FakeClock; statuses: FeedStatus[]; snaps: Snapshot[]; calls: () => number } {
  const clock = new FakeClock();
  const statuses: FeedStatus[] = [];
  const snaps: Snapshot[] = [];
  let calls = 0;
  const feed = new LiveFeed({
    url: '/v1/supervisor/live', clock, random: () => 0,
    onSnapshot: (s) => snaps.push(s), onStatus: (s) => statuses.push(s),
    fetchFn: async (_url, init) => {
      expect(init.credentials).toBe('same-origin');
      const answer = answers[Math.min(calls, answers.length - 1)]!;
      calls++;
      return answer();
    },
  });
  return { feed, clock, statuses, snaps, calls: () => calls };
}

describe('backoff', () => {
  /** 1 s doubling to 30 s, jitter only shortens. */
  it('doubles up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((a) => backoffMs(a, () => 0))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(backoffMs(1, () => 1)).toBe(800);
  });
});

describe('live feed', () => {
  /** Snapshots are passed on and the feed says "live"; a stream that ends is retried after 1 s, then 2 s. */
  it('reconnects a dropped stream with backoff', async () => {
    const { feed, clock, statuses, snaps, calls } = setup([() => stream([event(EXAMPLE), event({ ...EXAMPLE, active_chats: 4 })])]);
    feed.start();
    await settle();
    expect(snaps.map((s) => s.activeChats)).toEqual([3, 4]);
    expect(statuses.map((s) => s.kind)).toEqual(['connecting', 'live', 'live', 'reconnecting']);
    expect(statuses[3]).toEqual({ kind: 'reconnecting', inMs: 1000, attempt: 1 });
    clock.fire(1000);
    await settle();
    expect(calls()).toBe(2);
    // A snapshot arrived again, so the next drop starts from 1 s again.
    expect(statuses.at(-1)).toEqual({ kind: 'reconnecting', inMs: 1000, attempt: 1 });
    feed.stop();
  });

  /** A server error, then a body that is not a snapshot: each is a failed attempt, backing off further. */
  it('backs off on errors and bad bodies', async () => {
    const { feed, clock, statuses, snaps } = setup([
      () => new Response('{"code":"internal","message":"x"}', { status: 500 }),
      () => stream([event({ nonsense: true })], true),
      () => stream([event(EXAMPLE)], true),
    ]);
    feed.start();
    await settle();
    expect(statuses.at(-1)).toEqual({ kind: 'reconnecting', inMs: 1000, attempt: 1 });
    clock.fire(1000);
    await settle();
    expect(statuses.at(-1)).toEqual({ kind: 'reconnecting', inMs: 2000, attempt: 2 });
    clock.fire(2000);
    await settle();
    expect(snaps).toHaveLength(1);
    expect(statuses.at(-1)).toEqual({ kind: 'live' });
    feed.stop();
    expect(clock.timers.size).toBe(0);
  });

  /** An open stream that goes quiet is given up after QUIET_MS and reopened. */
  it('reconnects a silent stream', async () => {
    const { feed, clock, statuses, calls } = setup([() => stream([event(EXAMPLE)], true)]);
    feed.start();
    await settle();
    expect(statuses.at(-1)).toEqual({ kind: 'live' });
    clock.fire(QUIET_MS);
    await settle();
    expect(statuses.at(-1)).toEqual({ kind: 'reconnecting', inMs: 1000, attempt: 1 });
    clock.fire(1000);
    await settle();
    expect(calls()).toBe(2);
    feed.stop();
  });

  /** 403 (a counsellor) and 401 (session gone) stop the feed for good. */
  it('stops when the session is refused', async () => {
    for (const [status, code] of [[403, 'forbidden'], [401, 'unauthorized']] as const) {
      const { feed, clock, statuses, calls } = setup([() => new Response(JSON.stringify({ code, message: 'no' }), { status })]);
      feed.start();
      await settle();
      const last = statuses.at(-1);
      expect(last?.kind).toBe('stopped');
      expect(last?.kind === 'stopped' ? last.error.code : undefined).toBe(code);
      expect(clock.timers.size).toBe(0);
      expect(calls()).toBe(1);
    }
  });
});
