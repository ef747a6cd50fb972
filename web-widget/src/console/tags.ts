/**
 * Anonymous end-of-contact tags (docs/console-api.md): categories chosen from the relay's
 * vocabulary, never free text. The form's choice is checked here before it is sent, so a
 * tag outside the vocabulary cannot leave the console.
 */

import type { Tags } from '../proto/index.js';

/** The vocabulary of `GET /v1/console/config` `tags`. */
export interface TagVocabulary {
  readonly topics: readonly string[];
  readonly outcomes: readonly string[];
  readonly channels: readonly string[];
}

/** What the counsellor ticked. */
export interface TagChoice {
  readonly topics: readonly string[];
  readonly outcome: string | undefined;
  readonly channel: string | undefined;
}

/** Why a choice cannot be sent. */
export type TagProblem = 'outcome_required' | 'channel_required' | 'not_in_vocabulary';

const SLUG = /^[a-z0-9_-]{1,32}$/;

/**
 * Checks a choice against the vocabulary: an outcome and a channel are required, topics are
 * optional; every value must be a listed slug. Duplicates are dropped, order kept.
 */
export function checkTags(choice: TagChoice, vocab: TagVocabulary): { ok: true; tags: Tags } | { ok: false; problem: TagProblem } {
  if (choice.outcome === undefined || choice.outcome === '') return { ok: false, problem: 'outcome_required' };
  if (choice.channel === undefined || choice.channel === '') return { ok: false, problem: 'channel_required' };
  const topics = [...new Set(choice.topics)];
  const listed = (v: string, list: readonly string[]): boolean => SLUG.test(v) && list.includes(v);
  if (!listed(choice.outcome, vocab.outcomes) || !listed(choice.channel, vocab.channels) || !topics.every((t) => listed(t, vocab.topics))) {
    return { ok: false, problem: 'not_in_vocabulary' };
  }
  return { ok: true, tags: { ...(topics.length > 0 ? { topic: topics } : {}), outcome: choice.outcome, channel: choice.channel } };
}
