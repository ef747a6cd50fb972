/**
 * Forms of the console: anonymous tags (topic, outcome, channel — categories from the
 * relay's vocabulary, checked by `tags.ts` before anything is sent) and transfer to a queue
 * or a colleague. No free-text fields: nothing about a person can be typed into them.
 */

import { button, h } from '../widget/dom.js';
import type { Tags } from '../proto/index.js';
import type { Colleague, QueueName } from './config.js';
import { queueName } from './config.js';
import { checkTags } from './tags.js';
import type { TagProblem, TagVocabulary } from './tags.js';

const PROBLEMS: Readonly<Record<TagProblem, string>> = {
  outcome_required: 'Choose an outcome.',
  channel_required: 'Choose a channel.',
  not_in_vocabulary: 'Only the listed categories can be used.',
};

/** A slug shown as words: `ended_by_visitor` → "ended by visitor". */
export function words(slug: string): string {
  return slug.replace(/[_-]/g, ' ');
}

function choices(name: string, legend: string, type: 'checkbox' | 'radio', values: readonly string[], checked?: string): HTMLFieldSetElement {
  return h('fieldset', {},
    h('legend', {}, legend),
    ...values.map((v) => {
      const id = `${name}-${v}`;
      return h('div', { class: 'choice' },
        h('input', { type, id, name, value: v, checked: v === checked }),
        h('label', { for: id }, words(v)));
    }));
}

function picked(form: HTMLElement, name: string): string[] {
  return Array.from(form.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`), (i) => i.value);
}

/**
 * The tags form: `id` prefixes every control, `channel` is preselected (chat or phone).
 * `submit` gets tags that passed {@link checkTags}.
 */
export function tagForm(id: string, title: string, action: string, vocab: TagVocabulary, channel: string,
  on: { submit: (tags: Tags) => void; cancel: () => void }): HTMLFormElement {
  const error = h('p', { class: 'problem', role: 'alert' });
  const form = h('form', { class: 'tag-form', 'aria-labelledby': `${id}-title`, novalidate: true },
    h('h3', { id: `${id}-title`, tabindex: '-1' }, title),
    h('p', { class: 'muted' }, 'Categories only — never anything about the person.'),
    h('div', { class: 'tag-groups' },
      choices(`${id}-topic`, 'Topic', 'checkbox', vocab.topics),
      choices(`${id}-outcome`, 'Outcome', 'radio', vocab.outcomes),
      choices(`${id}-channel`, 'Channel', 'radio', vocab.channels, vocab.channels.includes(channel) ? channel : undefined)),
    error,
    h('div', { class: 'tools' }, h('button', { type: 'submit', class: 'primary' }, action), button('Cancel', on.cancel)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const result = checkTags({
      topics: picked(form, `${id}-topic`),
      outcome: picked(form, `${id}-outcome`)[0],
      channel: picked(form, `${id}-channel`)[0],
    }, vocab);
    if (result.ok) on.submit(result.tags);
    else error.textContent = PROBLEMS[result.problem];
  });
  return form;
}

/** Transfer to a queue (its front) or to a colleague on duty. */
export function transferForm(conv: string, queues: readonly QueueName[], colleagues: readonly Colleague[],
  on: { submit: (to: { queue: string } | { alias: string }) => void; cancel: () => void }): HTMLFormElement {
  const id = `transfer-${conv}`;
  const target = h('select', { id: `${id}-target` },
    h('optgroup', { label: 'Colleagues' }, ...(colleagues.length === 0
      ? [h('option', { value: '', disabled: true }, 'No colleague on duty')]
      : colleagues.map((c) => h('option', { value: `alias:${c.alias}`, disabled: !c.available }, c.available ? c.alias : `${c.alias} (busy)`)))),
    h('optgroup', { label: 'Queues' }, ...queues.map((q) => h('option', { value: `queue:${q.id}` }, `${queueName(queues, q.id)} (${q.id})`))));
  const error = h('p', { class: 'problem', role: 'alert' });
  const form = h('form', { class: 'transfer-form', 'aria-labelledby': `${id}-title`, novalidate: true },
    h('h3', { id: `${id}-title`, tabindex: '-1' }, 'Transfer the chat'),
    h('p', { class: 'muted' }, 'The visitor renews the secure session with whoever takes over; this transcript stays here only until you close it.'),
    h('div', { class: 'field' }, h('label', { for: `${id}-target` }, 'Transfer to'), target),
    error,
    h('div', { class: 'tools' }, h('button', { type: 'submit', class: 'primary' }, 'Transfer'), button('Cancel', on.cancel)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const [kind, ...rest] = target.value.split(':');
    const value = rest.join(':');
    if (value === '') {
      error.textContent = 'Choose a colleague or a queue.';
      return;
    }
    on.submit(kind === 'alias' ? { alias: value } : { queue: value });
  });
  return form;
}
