/**
 * The "Refer to a brobygger" form of a chat (#8): an office found by municipality (only
 * offices whose certificates verified are listed), needs, how the person wants to be
 * contacted or that they will quote the code, language and interpreter, safety constraints
 * and a short note. Below it, exactly the lines the visitor will be asked to agree to.
 * Checked by `referral.ts` before anything is sent.
 */

import { button, h } from '../widget/dom.js';
import type { BrobyggerOffice } from './offices.js';
import { searchOffices } from './offices.js';
import { chars, checkForm, MAX_FIELD_CHARS, MAX_NOTE_CHARS, NEEDS, offerFields } from './referral.js';
import type { FormProblem, Need, ReferralDraft, ReferralForm } from './referral.js';

const NEED_LABELS: Readonly<Record<Need, string>> = {
  health: 'Health', social: 'Social (benefits, case work)', work: 'Work and education', housing: 'Housing',
  legal: 'Legal advice', safety: 'Safety', psychologist: 'Psychologist', bisidder: 'Bisidder (someone to come along)',
};

const PROBLEMS: Readonly<Record<FormProblem, string>> = {
  office_required: 'Choose an office.',
  needs_required: 'Choose at least one need.',
  unknown_need: 'Only the listed needs can be used.',
  contact_required: 'Say how the person wants to be contacted, or choose that they will quote the code.',
  contact_too_long: `The contact wish can be at most ${MAX_FIELD_CHARS} characters.`,
  language_required: 'Give the person’s language.',
  language_too_long: `The language can be at most ${MAX_FIELD_CHARS} characters.`,
  safety_too_long: `Safety constraints can be at most ${MAX_FIELD_CHARS} characters.`,
  note_too_long: `The note can be at most ${MAX_NOTE_CHARS} characters.`,
};

/**
 * The form. `submit` gets a checked draft and answers with a problem to show, or
 * `undefined` when the offer went to the visitor.
 */
export function referralForm(conv: string, offices: readonly BrobyggerOffice[], language: string, alias: string,
  on: { submit: (draft: ReferralDraft) => string | undefined; cancel: () => void }): HTMLFormElement {
  const id = `ref-${conv.replace(/[^A-Za-z0-9_-]/g, '')}`;
  const search = h('input', { type: 'search', id: `${id}-search`, autocomplete: 'off', 'aria-describedby': `${id}-count` });
  const count = h('p', { id: `${id}-count`, class: 'muted', 'aria-live': 'polite' });
  const officeList = h('div', { class: 'office-list' });
  const officeSet = h('fieldset', {}, h('legend', {}, 'Office'), officeList);
  let chosen = offices.length === 1 ? offices[0]?.id ?? '' : '';
  const drawOffices = (): void => {
    const found = searchOffices(offices, search.value);
    count.textContent = offices.length === 0 ? 'No brobygger office could be verified, so no referral can be made now.'
      : `${found.length} of ${offices.length} offices`;
    officeList.replaceChildren(...found.map((o, i) => {
      const oid = `${id}-office-${i}`;
      const input = h('input', { type: 'radio', id: oid, name: `${id}-office`, value: o.id, checked: o.id === chosen });
      input.addEventListener('change', () => {
        chosen = o.id;
        preview();
      });
      return h('div', { class: 'choice' }, input,
        h('label', { for: oid }, h('strong', {}, o.name), o.municipality === '' ? '' : ` · ${o.municipality}`,
          o.address === '' ? '' : h('span', { class: 'muted' }, ` · ${o.address}`)));
    }));
  };
  search.addEventListener('input', drawOffices);

  const needs = h('fieldset', {}, h('legend', {}, 'Needs'),
    ...NEEDS.map((n) => {
      const nid = `${id}-need-${n}`;
      return h('div', { class: 'choice' }, h('input', { type: 'checkbox', id: nid, name: `${id}-need`, value: n }), h('label', { for: nid }, NEED_LABELS[n]));
    }));
  const contactText = h('input', { type: 'text', id: `${id}-contact`, maxlength: String(MAX_FIELD_CHARS), autocomplete: 'off' });
  const radio = (value: string, label: string, checked: boolean): HTMLElement => h('div', { class: 'choice' },
    h('input', { type: 'radio', id: `${id}-cm-${value}`, name: `${id}-cm`, value, checked }), h('label', { for: `${id}-cm-${value}` }, label));
  const contact = h('fieldset', {}, h('legend', {}, 'Contact'),
    radio('code', 'The person will come in and quote the code (no contact details)', true),
    radio('contact', 'Contact the person like this:', false),
    h('div', { class: 'field' }, h('label', { for: `${id}-contact` }, 'How to contact (e.g. text message in English, mornings)'), contactText));
  const lang = h('input', { type: 'text', id: `${id}-lang`, value: language, maxlength: String(MAX_FIELD_CHARS), autocomplete: 'off' });
  const interpreter = h('input', { type: 'checkbox', id: `${id}-interp` });
  const safety = h('input', { type: 'text', id: `${id}-safety`, maxlength: String(MAX_FIELD_CHARS), autocomplete: 'off' });
  const note = h('textarea', { id: `${id}-note`, rows: '3', maxlength: String(MAX_NOTE_CHARS), 'aria-describedby': `${id}-note-left` });
  const noteLeft = h('p', { id: `${id}-note-left`, class: 'muted' });
  const shown = h('ul', { class: 'offer-preview', 'aria-label': 'What the visitor will see' });
  const error = h('p', { class: 'problem', role: 'alert' });
  const form = h('form', { class: 'referral-form', 'aria-labelledby': `${id}-title`, novalidate: true },
    h('h3', { id: `${id}-title`, tabindex: '-1' }, 'Refer to a brobygger'),
    h('p', { class: 'muted' }, 'The visitor sees exactly these details and must say yes before anything is sealed and sent.'),
    h('div', { class: 'field' }, h('label', { for: `${id}-search` }, 'Find an office by municipality'), search), count, officeSet,
    needs, contact,
    h('div', { class: 'field' }, h('label', { for: `${id}-lang` }, 'Language'), lang),
    h('div', { class: 'choice' }, interpreter, h('label', { for: `${id}-interp` }, 'Needs an interpreter')),
    h('div', { class: 'field' }, h('label', { for: `${id}-safety` }, 'Safety constraints (e.g. no voicemail, no letters home)'), safety),
    h('div', { class: 'field' }, h('label', { for: `${id}-note` }, 'Short note for the office'), note, noteLeft),
    h('h4', {}, 'The visitor will be asked to agree to:'), shown,
    error,
    h('div', { class: 'tools' }, h('button', { type: 'submit', class: 'primary' }, 'Show the offer to the visitor'), button('Cancel', on.cancel)));

  const read = (): ReferralForm => ({
    officeId: chosen,
    needs: Array.from(form.querySelectorAll<HTMLInputElement>(`input[name="${id}-need"]:checked`), (i) => i.value),
    contactMode: form.querySelector<HTMLInputElement>(`input[name="${id}-cm"]:checked`)?.value === 'contact' ? 'contact' : 'code',
    contact: contactText.value, language: lang.value, interpreter: interpreter.checked, safety: safety.value, note: note.value,
  });
  function preview(): void {
    const result = checkForm(read(), offices);
    noteLeft.textContent = `${MAX_NOTE_CHARS - chars(note.value)} characters left`;
    shown.replaceChildren(...(result.ok ? offerFields(result.draft, alias).map((f) => h('li', {}, f))
      : [h('li', { class: 'muted' }, 'Fill in the form to see the offer.')]));
  }
  contactText.addEventListener('input', () => {
    const other = form.querySelector<HTMLInputElement>(`#${id}-cm-contact`);
    if (other !== null && contactText.value.trim() !== '') other.checked = true;
  });
  form.addEventListener('input', preview);
  form.addEventListener('change', preview);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const result = checkForm(read(), offices);
    if (!result.ok) {
      error.textContent = result.problems.map((p) => PROBLEMS[p]).join(' ');
      return;
    }
    const problem = on.submit(result.draft);
    error.textContent = problem ?? '';
  });
  drawOffices();
  preview();
  return form;
}
