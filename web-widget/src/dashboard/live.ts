/**
 * The live feed: `GET /v1/supervisor/live` read as Server-Sent Events over `fetch` (so a 401
 * or 403 is seen as such, unlike with `EventSource`). Each `snapshot` event is validated and
 * handed on. A dropped stream, a network failure or a server that goes quiet is retried with
 * exponential backoff and jitter; a refused session stops the feed and says why.
 */

import { ApiError, errorFromResponse, type FetchLike } from '../staff/api.js';
import { ShapeError } from '../staff/read.js';
import { parseSnapshot, type Snapshot } from '../staff/snapshot.js';
import { SseParser } from './sse.js';

/** What the feed is doing, for the "live" / "reconnecting" indicator. */
export type FeedStatus =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'live' }
  | { readonly kind: 'reconnecting'; readonly inMs: number; readonly attempt: number }
  /** The server refused the session (401/403): retrying would not help. */
  | { readonly kind: 'stopped'; readonly error: ApiError };

/** The server sends a snapshot every 2 s; this long without one means the stream is dead. */
export const QUIET_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

/** The delay before reconnect attempt `attempt` (1, 2, …): 1 s doubling to 30 s, minus up to 20 % jitter. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - 0.2 * random()));
}

/** Timers, replaceable in tests. */
export interface Clock {
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

export interface FeedOptions {
  readonly url: string;
  readonly onSnapshot: (s: Snapshot) => void;
  readonly onStatus: (s: FeedStatus) => void;
  readonly fetchFn?: FetchLike;
  readonly clock?: Clock;
  readonly random?: () => number;
}

/** One live connection at a time, reconnecting until {@link LiveFeed.stop}. */
export class LiveFeed {
  private readonly fetchFn: FetchLike;
  private readonly clock: Clock;
  private abort: AbortController | undefined;
  private retryTimer: number | undefined;
  private quietTimer: number | undefined;
  private attempt = 0;
  private stopped = true;

  constructor(private readonly opts: FeedOptions) {
    this.fetchFn = opts.fetchFn ?? ((url, init) => fetch(url, init));
    this.clock = opts.clock ?? { setTimeout: (fn, ms) => window.setTimeout(fn, ms), clearTimeout: (id) => window.clearTimeout(id) };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.abort = undefined;
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    if (this.quietTimer !== undefined) this.clock.clearTimeout(this.quietTimer);
    this.retryTimer = undefined;
    this.quietTimer = undefined;
  }

  private async connect(): Promise<void> {
    this.opts.onStatus({ kind: 'connecting' });
    const abort = new AbortController();
    this.abort = abort;
    this.armQuietTimer(abort);
    try {
      const res = await this.fetchFn(this.opts.url, {
        method: 'GET', credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/event-stream' }, signal: abort.signal,
      });
      if (!res.ok) {
        let body: unknown;
        try {
          body = JSON.parse(await res.text()) as unknown;
        } catch {
          body = undefined;
        }
        const error = errorFromResponse(res.status, body, res.headers.get('Retry-After'));
        if (res.status === 401 || res.status === 403) return this.halt(error);
        throw error;
      }
      if (res.body === null) throw new Error('no body');
      await this.read(res.body, abort);
    } catch (e) {
      if (abort.signal.aborted && this.stopped) return;
      if (e instanceof ShapeError) console.warn('lyt dashboard: snapshot refused:', e.message);
    }
    if (this.abort === abort) this.retry();
  }

  private async read(body: ReadableStream<Uint8Array>, abort: AbortController): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    abort.signal.addEventListener('abort', () => void reader.cancel().catch(() => undefined), { once: true });
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
        if (ev.event !== 'snapshot') continue;
        const snapshot = parseSnapshot(JSON.parse(ev.data) as unknown);
        if (this.abort !== abort) return;
        this.armQuietTimer(abort);
        this.attempt = 0;
        this.opts.onStatus({ kind: 'live' });
        this.opts.onSnapshot(snapshot);
      }
    }
  }

  /** Aborts the connection when no snapshot arrives for {@link QUIET_MS}. */
  private armQuietTimer(abort: AbortController): void {
    if (this.quietTimer !== undefined) this.clock.clearTimeout(this.quietTimer);
    this.quietTimer = this.clock.setTimeout(() => abort.abort(), QUIET_MS);
  }

  private retry(): void {
    if (this.stopped) return;
    this.abort = undefined;
    if (this.quietTimer !== undefined) this.clock.clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    this.attempt += 1;
    const inMs = backoffMs(this.attempt, this.opts.random);
    this.opts.onStatus({ kind: 'reconnecting', inMs, attempt: this.attempt });
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, inMs);
  }

  private halt(error: ApiError): void {
    this.stop();
    this.opts.onStatus({ kind: 'stopped', error });
  }
}
