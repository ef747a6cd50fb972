/**
 * What the console uses of `GET /v1/console/config` (docs/console-api.md; read strictly by
 * the shared staff client), and helpers over its queue list.
 */

import { b64DecodeExact } from '../proto/index.js';
import type { Colleague, ConsoleConfig as StaffConsoleConfig } from '../staff/api.js';
import type { TagVocabulary } from './tags.js';

export type { Colleague };

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

/**
 * The console's view of the staff client's config: the org root decoded (and checked to be
 * 32 bytes), everything else as read by `staff/api.ts`.
 */
export function toConsoleConfig(c: StaffConsoleConfig): ConsoleConfig {
  return {
    orgRoot: b64DecodeExact(c.orgRoot, 32, 'org_root'),
    queues: c.queues, canned: c.canned, tags: c.tags, offerTimeoutS: c.offerTimeoutS, maxCapacity: c.maxCapacity,
  };
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
