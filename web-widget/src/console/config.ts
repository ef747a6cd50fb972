/**
 * `GET /v1/console/config` and `GET /v1/console/colleagues` (docs/console-api.md), read
 * strictly: what the console shows and sends must come from these lists, so anything
 * malformed is refused rather than guessed at.
 */

import { b64DecodeExact } from '../proto/index.js';
import type { TagVocabulary } from './tags.js';

/** A queue the counsellor can serve or transfer to. */
export interface QueueName {
  readonly id: string;
  /** Display names by language (`da`, `en`, …). */
  readonly names: Readonly<Record<string, string>>;
}

/** What the console needs from the relay's configuration. */
export interface ConsoleConfig {
  readonly orgRoot: Uint8Array;
  readonly queues: readonly QueueName[];
  /** Canned responses by language. */
  readonly canned: Readonly<Record<string, readonly string[]>>;
  readonly tags: TagVocabulary;
  readonly offerTimeoutS: number;
  readonly maxCapacity: number;
}

/** A colleague on duty, for "transfer to a colleague". */
export interface Colleague {
  readonly alias: string;
  readonly available: boolean;
}

const QUEUE_ID = /^[a-z]{2,3}\/[a-z0-9_-]{1,32}$/;
const SLUG = /^[a-z0-9_-]{1,32}$/;

class ConfigError extends Error {}
const bad = (why: string): ConfigError => new ConfigError(`console config: ${why}`);

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function strings(v: unknown, what: string, check?: RegExp): string[] {
  if (!Array.isArray(v) || !v.every((s): s is string => typeof s === 'string' && (check === undefined || check.test(s)))) {
    throw bad(`${what} must be a list of ${check === undefined ? 'strings' : 'slugs'}`);
  }
  return v;
}

function stringRecord(v: unknown, what: string): Record<string, string> {
  const o = obj(v, what);
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(o)) {
    if (typeof s !== 'string') throw bad(`${what}.${k} must be a string`);
    out[k] = s;
  }
  return out;
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw bad(`${what} must be a positive integer`);
  return v;
}

/** Parses the body of `GET /v1/console/config`; throws on anything malformed. */
export function parseConsoleConfig(body: unknown): ConsoleConfig {
  const o = obj(body, 'config');
  if (typeof o['org_root'] !== 'string') throw bad('org_root missing');
  const orgRoot = b64DecodeExact(o['org_root'], 32, 'org_root');
  if (!Array.isArray(o['queues'])) throw bad('queues must be a list');
  const queues = o['queues'].map((q, i) => {
    const qo = obj(q, `queues[${i}]`);
    const id = qo['id'];
    if (typeof id !== 'string' || !QUEUE_ID.test(id)) throw bad(`queues[${i}].id must be a queue id`);
    return { id, names: stringRecord(qo['names'] ?? {}, `queues[${i}].names`) };
  });
  const cannedIn = obj(o['canned'] ?? {}, 'canned');
  const canned: Record<string, readonly string[]> = {};
  for (const [lang, list] of Object.entries(cannedIn)) canned[lang] = strings(list, `canned.${lang}`);
  const t = obj(o['tags'], 'tags');
  const tags: TagVocabulary = {
    topics: strings(t['topics'], 'tags.topics', SLUG),
    outcomes: strings(t['outcomes'], 'tags.outcomes', SLUG),
    channels: strings(t['channels'], 'tags.channels', SLUG),
  };
  return { orgRoot, queues, canned, tags, offerTimeoutS: count(o['offer_timeout_s'], 'offer_timeout_s'), maxCapacity: count(o['max_capacity'], 'max_capacity') };
}

/** Parses the body of `GET /v1/console/colleagues`. */
export function parseColleagues(body: unknown): readonly Colleague[] {
  const list = obj(body, 'colleagues')['colleagues'];
  if (!Array.isArray(list)) throw bad('colleagues must be a list');
  return list.map((c, i) => {
    const co = obj(c, `colleagues[${i}]`);
    if (typeof co['alias'] !== 'string' || typeof co['available'] !== 'boolean') throw bad(`colleagues[${i}] malformed`);
    return { alias: co['alias'], available: co['available'] };
  });
}

/** The languages and topics the queues offer (`da/exit` → `da`, `exit`), in first-seen order. */
export function skillsOffered(queues: readonly QueueName[]): { langs: string[]; topics: string[] } {
  const langs = new Set<string>();
  const topics = new Set<string>();
  for (const q of queues) {
    const [lang, topic] = q.id.split('/');
    if (lang !== undefined) langs.add(lang);
    if (topic !== undefined) topics.add(topic);
  }
  return { langs: [...langs], topics: [...topics] };
}

/** A queue's display name in `lang`, else English, else its id. */
export function queueName(queues: readonly QueueName[], id: string, lang = 'en'): string {
  const q = queues.find((x) => x.id === id);
  return q?.names[lang] ?? q?.names['en'] ?? id;
}
