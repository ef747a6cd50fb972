/**
 * "Log a phone call" on the phone desk: start and end (clock times, defaulting to a call
 * that just ended after ten minutes; "Now" buttons), the language, and anonymous topic and
 * outcome tags — then the list of calls logged in this tab, each marked when the relay
 * has counted it. Times, a language code and categories only: nothing about the caller.
 */

import { button, h } from '../widget/dom.js';
import { checkCall, clockText, defaultTimes } from './calllog.js';
import type { CallLog, CallProblem } from './calllog.js';
import type { LoggedCall } from './state.js';
import type { TagVocabulary } from './tags.js';
import { words } from './view-forms.js';

const PROBLEMS: Readonly<Record<CallProblem, string>> = {
  time_format: 'Give the start and end as times (HH:MM).',
  too_long: 'A call can be logged for at most 12 hours.',
  in_future: 'The end cannot be in the future.',
  language: 'Choose a listed language.',
  outcome_required: 'Choose an outcome.',
  channel_required: 'Phone calls cannot be logged on this server (no phone channel).',
  not_in_vocabulary: 'Only the listed categories can be used.',
};

const STATUS: Readonly<Record<LoggedCall['status'], string>> = {
  sending: 'Sending…',
  counted: 'Counted',
  refused: 'Not counted',
  unconfirmed: 'Not confirmed (the connection dropped) — check the figures before logging it again',
};

export class CallsPanel {
  readonly el: HTMLElement;
  private readonly slot: HTMLDivElement;
  private readonly list: HTMLUListElement;
  private readonly open: HTMLButtonElement;
  private shown: readonly LoggedCall[] | undefined;

  constructor(private readonly vocab: TagVocabulary, private readonly languages: readonly string[],
    private readonly log: (call: CallLog) => string | undefined) {
    this.slot = h('div', { class: 'form-slot' });
    this.list = h('ul', { class: 'calls', 'aria-label': 'Calls logged in this tab' });
    this.open = button('Log a phone call', () => this.openForm(), { class: 'primary' });
    this.el = h('section', { class: 'calls-box', 'aria-labelledby': 'calls-h' },
      h('h2', { id: 'calls-h' }, 'Phone calls'),
      h('p', { class: 'muted' }, 'Log each call you take so it counts in the statistics.'),
      this.open, this.slot, this.list);
  }

  /** The calls logged in this tab and their status. */
  render(calls: readonly LoggedCall[]): void {
    if (calls === this.shown) return;
    this.shown = calls;
    this.list.replaceChildren(...[...calls].reverse().map((c) => {
      const lang = c.log.language === undefined ? '' : ` · ${c.log.language}`;
      const tags = [...(c.log.tags.topic ?? []), c.log.tags.outcome ?? ''].filter((t) => t !== '').map(words).join(', ');
      return h('li', { class: `call ${c.status}` },
        `${clockText(c.log.started * 1000)}–${clockText(c.log.ended * 1000)}${lang}${tags === '' ? '' : ` · ${tags}`} · `,
        h('strong', {}, STATUS[c.status]), c.detail === undefined ? '' : ` (${c.detail})`);
    }));
  }

  private openForm(): void {
    const id = 'call';
    const now = Date.now();
    const times = defaultTimes(now);
    const start = h('input', { type: 'time', id: `${id}-start`, value: times.start, required: true });
    const end = h('input', { type: 'time', id: `${id}-end`, value: times.end, required: true });
    const nowBtn = (input: HTMLInputElement, label: string): HTMLButtonElement =>
      button('Now', () => { input.value = clockText(Date.now()); }, { 'aria-label': label, class: 'link' });
    const lang = h('select', { id: `${id}-lang` }, h('option', { value: '' }, 'Not recorded'),
      ...this.languages.map((l) => h('option', { value: l }, l)));
    const choices = (name: string, legend: string, type: 'checkbox' | 'radio', values: readonly string[]): HTMLFieldSetElement =>
      h('fieldset', {}, h('legend', {}, legend), ...values.map((v) => h('div', { class: 'choice' },
        h('input', { type, id: `${name}-${v}`, name, value: v }), h('label', { for: `${name}-${v}` }, words(v)))));
    const error = h('p', { class: 'problem', role: 'alert' });
    const form = h('form', { class: 'call-form', 'aria-labelledby': `${id}-title`, novalidate: true },
      h('h3', { id: `${id}-title`, tabindex: '-1' }, 'Log a phone call'),
      h('p', { class: 'muted' }, 'Times and categories only — never anything about the caller.'),
      h('div', { class: 'time-row' },
        h('div', { class: 'field' }, h('label', { for: `${id}-start` }, 'Started'), start, nowBtn(start, 'Started now')),
        h('div', { class: 'field' }, h('label', { for: `${id}-end` }, 'Ended'), end, nowBtn(end, 'Ended now'))),
      h('div', { class: 'field' }, h('label', { for: `${id}-lang` }, 'Language of the call'), lang),
      h('div', { class: 'tag-groups' },
        choices(`${id}-topic`, 'Topic', 'checkbox', this.vocab.topics),
        choices(`${id}-outcome`, 'Outcome', 'radio', this.vocab.outcomes)),
      error,
      h('div', { class: 'tools' }, h('button', { type: 'submit', class: 'primary' }, 'Log call'), button('Cancel', () => this.close())));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const picked = (name: string): string[] => Array.from(form.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`), (i) => i.value);
      const result = checkCall({ start: start.value, end: end.value, language: lang.value, topics: picked(`${id}-topic`), outcome: picked(`${id}-outcome`)[0] },
        this.vocab, this.languages, Date.now());
      if (!result.ok) {
        error.textContent = PROBLEMS[result.problem];
        return;
      }
      const problem = this.log(result.log);
      if (problem !== undefined) error.textContent = problem;
      else this.close();
    });
    this.open.hidden = true;
    this.slot.replaceChildren(form);
    form.querySelector<HTMLElement>('h3')?.focus();
  }

  private close(): void {
    this.slot.replaceChildren();
    this.open.hidden = false;
    this.open.focus();
  }
}
