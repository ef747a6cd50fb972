/**
 * Logging a phone call from the console (`call_log`, docs/protocol.md): when it started and
 * ended (clock times typed as HH:MM, read as the most recent such times on this computer's
 * clock), its language and anonymous tags from the relay's vocabulary — no phone numbers,
 * no names, no free text. The relay's rules are checked here first: the end not before the
 * start, at most 12 hours, not ending in the future, started within the last 24 hours.
 * Pure.
 */

import type { Tags } from '../proto/index.js';
import { checkTags } from './tags.js';
import type { TagProblem, TagVocabulary } from './tags.js';

/** The `call_log` frame's fields. */
export interface CallLog {
  readonly started: number;
  readonly ended: number;
  readonly language?: string;
  readonly tags: Tags;
}

/** What the counsellor typed and ticked. */
export interface CallForm {
  /** `HH:MM` (24 h), as an `<input type="time">` gives it. */
  readonly start: string;
  readonly end: string;
  /** A language code, or empty for "not recorded". */
  readonly language: string;
  readonly topics: readonly string[];
  readonly outcome: string | undefined;
}

/** Why a call cannot be logged. */
export type CallProblem = 'time_format' | 'too_long' | 'in_future' | 'language' | TagProblem;

/** Longest call (the relay's limit). */
export const MAX_CALL_S = 12 * 3600;
/** Minutes the start time is set back from now when the form opens. */
export const DEFAULT_CALL_MIN = 10;

/** `HH:MM` of a local time. */
export function clockText(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** The form's defaults at `nowMs`: the call just ended, having begun a few minutes ago. */
export function defaultTimes(nowMs: number): { start: string; end: string } {
  return { start: clockText(nowMs - DEFAULT_CALL_MIN * 60_000), end: clockText(nowMs) };
}

function parseClock(text: string): { h: number; m: number } | undefined {
  const m = /^(\d{1,2}):(\d{2})(?::\d{2})?$/.exec(text.trim());
  if (m === null) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  return h < 24 && min < 60 ? { h, m: min } : undefined;
}

/**
 * The Unix seconds of a call typed as clock times at `nowMs`: the end is the latest such
 * time not after now (today, or yesterday if it is later than now by more than five
 * minutes); the start is the latest such time not after the end (a call over midnight
 * starts the day before). Throws nothing; `undefined` for a time that is not HH:MM.
 */
export function callTimes(start: string, end: string, nowMs: number): { started: number; ended: number } | undefined {
  const s = parseClock(start);
  const e = parseClock(end);
  if (s === undefined || e === undefined) return undefined;
  const endDate = new Date(nowMs);
  endDate.setHours(e.h, e.m, 0, 0);
  if (endDate.getTime() > nowMs + 5 * 60_000) endDate.setDate(endDate.getDate() - 1);
  const startDate = new Date(endDate.getTime());
  startDate.setHours(s.h, s.m, 0, 0);
  if (startDate.getTime() > endDate.getTime()) startDate.setDate(startDate.getDate() - 1);
  return { started: Math.floor(startDate.getTime() / 1000), ended: Math.floor(endDate.getTime() / 1000) };
}

/** Checks the form: the `call_log` to send (channel `phone`), or the problem. */
export function checkCall(form: CallForm, vocab: TagVocabulary, languages: readonly string[], nowMs: number):
  { ok: true; log: CallLog } | { ok: false; problem: CallProblem } {
  const times = callTimes(form.start, form.end, nowMs);
  if (times === undefined) return { ok: false, problem: 'time_format' };
  if (times.ended - times.started > MAX_CALL_S) return { ok: false, problem: 'too_long' };
  if (times.ended * 1000 > nowMs + 5 * 60_000) return { ok: false, problem: 'in_future' };
  if (form.language !== '' && !languages.includes(form.language)) return { ok: false, problem: 'language' };
  const channel = vocab.channels.includes('phone') ? 'phone' : vocab.channels[0];
  const tags = checkTags({ topics: form.topics, outcome: form.outcome, channel }, vocab);
  if (!tags.ok) return { ok: false, problem: tags.problem };
  return { ok: true, log: { ...times, ...(form.language === '' ? {} : { language: form.language }), tags: tags.tags } };
}
