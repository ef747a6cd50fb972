/**
 * The supervisor snapshot (`GET /v1/supervisor/snapshot`, and every `event: snapshot` of
 * `GET /v1/supervisor/live`), read strictly into camel-cased types. Counts only: nothing in
 * it is about a person, and nothing here adds anything that could be.
 */

import { count, flag, listOf, nullOr, obj, oneOf, ratio, tally, type Tallied, text } from './read.js';

/** One queue right now. */
export interface QueueLive {
  readonly id: string;
  readonly waiting: number;
  /** How long the longest-waiting visitor has waited, in seconds. */
  readonly longestWaitS: number;
  /** The wait a visitor joining now is told to expect, in seconds. */
  readonly etaS: number;
}

/** A counsellor's state on duty. */
export type DutyState = 'available' | 'busy' | 'on_break';
const DUTY_STATES: readonly DutyState[] = ['available', 'busy', 'on_break'];

/** A counsellor on duty, by alias, with their load. */
export interface OnDuty {
  readonly alias: string;
  readonly state: DutyState;
  readonly chats: number;
  readonly capacity: number;
}

/** Wait-time percentiles of today's answered contacts, in seconds (all 0 and `count` 0 before any). */
export interface WaitPercentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly count: number;
}

/** Today's totals (the calendar day in the opening-hours time zone). */
export interface Today {
  readonly date: string;
  readonly contacts: number;
  readonly byChannel: Tallied[];
  /** By the queue's language (phone calls as logged); empty from a relay that does not send it. */
  readonly byLanguage: Tallied[];
  readonly byTopic: Tallied[];
  readonly byOutcome: Tallied[];
  readonly joined: number;
  readonly abandoned: number;
  /** `abandoned / joined`, 0 when nobody joined. */
  readonly abandonRate: number;
  readonly waitS: WaitPercentiles;
}

/** Everything the dashboard shows, at one instant. */
export interface Snapshot {
  /** Unix seconds. */
  readonly at: number;
  readonly open: boolean;
  readonly queues: QueueLive[];
  readonly counsellors: { readonly available: number; readonly busy: number; readonly onBreak: number; readonly offline: number };
  readonly onDuty: OnDuty[];
  readonly activeChats: number;
  readonly load: { readonly chats: number; readonly capacity: number };
  readonly today: Today;
}

function queue(v: unknown, at: string): QueueLive {
  const q = obj(v, at);
  return {
    id: text(q['id'], `${at}.id`, 64, 1),
    waiting: count(q['waiting'], `${at}.waiting`),
    longestWaitS: count(q['longest_wait_s'], `${at}.longest_wait_s`),
    etaS: count(q['eta_s'], `${at}.eta_s`),
  };
}

function onDuty(v: unknown, at: string): OnDuty {
  const c = obj(v, at);
  return {
    alias: text(c['alias'], `${at}.alias`, 64, 1),
    state: oneOf(c['state'], `${at}.state`, DUTY_STATES),
    chats: count(c['chats'], `${at}.chats`),
    capacity: count(c['capacity'], `${at}.capacity`),
  };
}

function percentiles(v: unknown, at: string): WaitPercentiles {
  const w = obj(v, at);
  return {
    p50: count(w['p50'], `${at}.p50`), p90: count(w['p90'], `${at}.p90`),
    p99: count(w['p99'], `${at}.p99`), count: count(w['count'], `${at}.count`),
  };
}

function today(v: unknown, at: string): Today {
  const t = obj(v, at);
  return {
    date: text(t['date'], `${at}.date`, 10, 10),
    contacts: count(t['contacts'], `${at}.contacts`),
    byChannel: tally(t['by_channel'], `${at}.by_channel`),
    byLanguage: t['by_language'] === undefined ? [] : tally(t['by_language'], `${at}.by_language`),
    byTopic: tally(t['by_topic'], `${at}.by_topic`),
    byOutcome: tally(t['by_outcome'], `${at}.by_outcome`),
    joined: count(t['joined'], `${at}.joined`),
    abandoned: count(t['abandoned'], `${at}.abandoned`),
    abandonRate: ratio(t['abandon_rate'], `${at}.abandon_rate`),
    // Before the first answered contact the server may send no percentiles at all.
    waitS: nullOr(t['wait_s'] ?? null, `${at}.wait_s`, percentiles) ?? { p50: 0, p90: 0, p99: 0, count: 0 },
  };
}

/** Reads a snapshot body; throws `ShapeError` for anything that is not one. */
export function parseSnapshot(v: unknown): Snapshot {
  const s = obj(v, 'snapshot');
  const c = obj(s['counsellors'], 'counsellors');
  const load = obj(s['load'], 'load');
  return {
    at: count(s['at'], 'at'),
    open: flag(s['open'], 'open'),
    queues: listOf(s['queues'], 'queues', queue, 200),
    counsellors: {
      available: count(c['available'], 'counsellors.available'), busy: count(c['busy'], 'counsellors.busy'),
      onBreak: count(c['on_break'], 'counsellors.on_break'), offline: count(c['offline'], 'counsellors.offline'),
    },
    onDuty: listOf(s['on_duty'], 'on_duty', onDuty, 1000),
    activeChats: count(s['active_chats'], 'active_chats'),
    load: { chats: count(load['chats'], 'load.chats'), capacity: count(load['capacity'], 'load.capacity') },
    today: today(s['today'], 'today'),
  };
}
