/** The topic chooser and the callback form: DOM pieces of the start and problem screens. */

import type { OfficeCert } from '../proto/index.js';
import { LANGS, type Lang } from '../shared/langs.js';
import { sealCallbackFrame } from './callback.js';
import type { CallbackFrame } from './callback.js';
import { button, h } from './dom.js';
import { CATALOGUES, t } from './i18n.js';
import { etaMinutes } from './state.js';
import type { StatusInfo } from './state.js';

/** The queues to offer in `lang`: those of that language, or all if it has none. */
export function queuesFor(status: StatusInfo, lang: Lang): StatusInfo['queues'] {
  const own = status.queues.filter((q) => q.id.startsWith(`${lang}/`));
  return own.length > 0 ? own : status.queues;
}

/** The display name of a queue in `lang` (then English, Danish, the id). */
export function queueName(q: StatusInfo['queues'][number], lang: Lang): string {
  return q.names[lang] ?? q.names['en'] ?? q.names['da'] ?? q.id;
}

/** A radio group of topics and a start button. */
export function topicForm(status: StatusInfo, lang: Lang, onJoin: (queue: string) => void): HTMLElement {
  const queues = queuesFor(status, lang);
  const form = h('form', { class: 'topics', novalidate: true });
  const fieldset = h('fieldset', {}, h('legend', {}, t(lang, 'topic')));
  queues.forEach((q, i) => {
    const id = `q-${i}`;
    const input = h('input', { type: 'radio', name: 'queue', id, value: q.id, checked: i === 0 });
    const wait = t(lang, 'waitAbout', { minutes: Math.max(1, etaMinutes(q.etaS)) });
    fieldset.append(h('div', { class: 'choice' }, input, h('label', { for: id }, queueName(q, lang), h('span', { class: 'muted' }, ` (${wait})`))));
  });
  form.append(fieldset, h('button', { type: 'submit', class: 'primary' }, t(lang, 'startChat')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const chosen = form.querySelector<HTMLInputElement>('input[name=queue]:checked');
    if (chosen !== null) onJoin(chosen.value);
  });
  return form;
}

/** The callback form; `send` delivers the sealed frame and resolves true if the relay took it. */
export function callbackForm(desk: OfficeCert, lang: Lang, send: (frame: CallbackFrame) => Promise<boolean>): HTMLElement {
  const field = (id: string, label: string, input: HTMLElement): HTMLElement => h('div', { class: 'field' }, h('label', { for: id }, label), input);
  const phone = h('input', { id: 'cb-phone', type: 'tel', autocomplete: 'off', required: true, maxlength: '40' });
  const when = h('input', { id: 'cb-when', type: 'text', autocomplete: 'off', required: true, maxlength: '200' });
  const language = h('select', { id: 'cb-lang' }, ...LANGS.map((l) => h('option', { value: l, selected: l === lang }, CATALOGUES[l].langName)));
  const voicemail = h('input', { id: 'cb-vm', type: 'checkbox' });
  const name = h('input', { id: 'cb-name', type: 'text', autocomplete: 'off', maxlength: '80' });
  const result = h('p', { role: 'status', class: 'result' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t(lang, 'callbackSend'));
  const form = h('form', { class: 'callback' },
    h('p', {}, t(lang, 'callbackIntro')),
    field('cb-phone', t(lang, 'callbackPhone'), phone),
    field('cb-when', t(lang, 'callbackWhen'), when),
    field('cb-lang', t(lang, 'callbackLanguage'), language),
    h('div', { class: 'choice' }, voicemail, h('label', { for: 'cb-vm' }, t(lang, 'callbackVoicemail'))),
    field('cb-name', t(lang, 'callbackName'), name),
    submit, result);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!form.reportValidity()) return;
    submit.disabled = true;
    const frame = sealCallbackFrame(desk, `${language.value}/phone`, {
      phone: phone.value, when: when.value, language: language.value, voicemailOk: voicemail.checked, name: name.value,
    });
    void send(frame).then((ok) => {
      result.textContent = t(lang, ok ? 'callbackSent' : 'callbackFailed');
      if (ok) form.querySelectorAll('input').forEach((i) => { i.value = ''; });
      submit.disabled = ok;
    });
  });
  return h('section', { 'aria-labelledby': 'cb-title' }, h('h2', { id: 'cb-title' }, t(lang, 'callbackTitle')), form);
}

export { button };
