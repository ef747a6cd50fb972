/**
 * The phone desk panel: sealed callback requests waiting, the desk key loaded from its file
 * into memory only (never stored), each request opened here on demand, and "done" with
 * anonymous tags. What a request says is shown only while its item is open.
 */

import { button, h } from '../widget/dom.js';
import type { CallbackItem, Tags } from '../proto/index.js';
import { clock } from './offer.js';
import { checkDeskKey, DeskKeyError, openCallbackItem, parseDeskKeyFile } from './desk.js';
import type { CallbackRequest } from './desk.js';
import { tagForm } from './view-forms.js';
import type { TagVocabulary } from './tags.js';

const KEY_PROBLEMS: Readonly<Record<DeskKeyError['problem'], string>> = {
  format: 'That is not a lyt key file.',
  wrong_kind: 'That key file is not a phone desk key (X25519).',
  wrong_desk: 'That key does not belong to this organisation’s phone desk.',
};

export class DeskPanel {
  readonly el: HTMLElement;
  private secret: Uint8Array | undefined;
  private readonly keyStatus: HTMLParagraphElement;
  private readonly list: HTMLUListElement;
  private readonly file: HTMLInputElement;
  private readonly forget: HTMLButtonElement;
  private items: readonly CallbackItem[] = [];
  /** Requests opened by the counsellor, by id (dropped when the request leaves the list). */
  private readonly opened = new Map<string, CallbackRequest | 'failed'>();
  private tagging: string | undefined;

  constructor(private readonly vocab: TagVocabulary, private readonly deskPub: () => Uint8Array | undefined,
    private readonly done: (id: string, tags: Tags) => void) {
    this.keyStatus = h('p', { class: 'muted', role: 'status' }, 'Load the phone desk key to read requests.');
    this.file = h('input', { type: 'file', id: 'desk-key', accept: '.key,text/plain' });
    this.file.addEventListener('change', () => void this.loadKey());
    this.forget = button('Forget desk key', () => this.forgetKey());
    this.forget.hidden = true;
    this.list = h('ul', { class: 'callbacks', 'aria-label': 'Callback requests' });
    this.el = h('section', { class: 'desk', 'aria-labelledby': 'desk-h' },
      h('h2', { id: 'desk-h' }, 'Phone desk'),
      h('div', { class: 'field' }, h('label', { for: 'desk-key' }, 'Desk key file'), this.file),
      this.keyStatus, this.forget, this.list);
  }

  /** The request list from the relay's latest `callbacks` frame. */
  render(items: readonly CallbackItem[]): void {
    this.items = items;
    for (const id of [...this.opened.keys()]) if (!items.some((i) => i.id === id)) this.opened.delete(id);
    if (this.tagging !== undefined && !items.some((i) => i.id === this.tagging)) this.tagging = undefined;
    this.draw();
  }

  /** Forgets the desk key and everything opened with it (log out, end of shift). */
  forgetKey(): void {
    this.secret?.fill(0);
    this.secret = undefined;
    this.opened.clear();
    this.tagging = undefined;
    this.file.value = '';
    this.forget.hidden = true;
    this.keyStatus.textContent = 'Load the phone desk key to read requests.';
    this.draw();
  }

  private async loadKey(): Promise<void> {
    const f = this.file.files?.[0];
    this.file.value = '';
    if (f === undefined) return;
    try {
      const secret = parseDeskKeyFile(await f.text());
      checkDeskKey(secret, this.deskPub());
      this.secret?.fill(0);
      this.secret = secret;
      this.forget.hidden = false;
      this.keyStatus.textContent = 'Desk key loaded (kept in this tab’s memory only).';
    } catch (e) {
      this.keyStatus.textContent = e instanceof DeskKeyError ? KEY_PROBLEMS[e.problem] : 'The key file could not be read.';
    }
    this.draw();
  }

  private draw(): void {
    if (this.items.length === 0) {
      this.list.replaceChildren(h('li', { class: 'muted' }, 'No callback requests.'));
      return;
    }
    this.list.replaceChildren(...this.items.map((item) => this.itemEl(item)));
  }

  private itemEl(item: CallbackItem): HTMLLIElement {
    const opened = this.opened.get(item.id);
    const head = h('p', {}, h('strong', {}, `Callback · ${item.queue}`), ` · waiting ${clock(item.age_s)}`);
    const li = h('li', { class: 'callback' }, head);
    if (opened === 'failed') li.append(h('p', { class: 'problem' }, 'This request does not open with the loaded key.'));
    else if (opened !== undefined) li.append(requestDetails(opened));
    else if (this.secret !== undefined) li.append(button('Open', () => this.open(item)));
    if (this.tagging === item.id) {
      li.append(tagForm(`cb-${item.id.replace(/[^A-Za-z0-9_-]/g, '')}`, 'Mark the callback done', 'Mark done', this.vocab, 'phone', {
        submit: (tags) => {
          this.tagging = undefined;
          this.done(item.id, tags);
        },
        cancel: () => {
          this.tagging = undefined;
          this.draw();
        },
      }));
    } else {
      li.append(button('Done…', () => {
        this.tagging = item.id;
        this.draw();
        this.list.querySelector<HTMLElement>('.tag-form h3')?.focus();
      }));
    }
    return li;
  }

  private open(item: CallbackItem): void {
    if (this.secret === undefined) return;
    try {
      this.opened.set(item.id, openCallbackItem(this.secret, item));
    } catch {
      this.opened.set(item.id, 'failed');
    }
    this.draw();
  }
}

function requestDetails(r: CallbackRequest): HTMLElement {
  const row = (k: string, v: string): HTMLElement[] => [h('dt', {}, k), h('dd', {}, v)];
  return h('dl', { class: 'request' },
    ...row('Phone', r.phone), ...row('When', r.when), ...row('Language', r.language),
    ...row('Voicemail', r.voicemailOk ? 'Allowed' : 'No voicemail'),
    ...(r.name === undefined ? [] : row('Name', r.name)));
}
