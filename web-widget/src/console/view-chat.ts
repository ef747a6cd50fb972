/**
 * One chat's pane: heading, safety code, the message log (lines added by id, never twice),
 * typing state, the message box with canned responses, and the transfer and end-with-tags
 * forms. A pane lives as long as its chat, so a draft survives switching between chats.
 */

import { button, h } from '../widget/dom.js';
import type { Chat, ChatLine, NoteKind, ReferralStatus } from './chats.js';
import type { Colleague, QueueName } from './config.js';
import { queueName } from './config.js';
import type { BrobyggerOffice } from './offices.js';
import type { ReferralDraft } from './referral.js';
import { tagForm, transferForm } from './view-forms.js';
import { referralForm } from './view-referral.js';
import type { TagVocabulary } from './tags.js';
import type { Tags } from '../proto/index.js';

/** What a pane asks of the rest of the console. */
export interface ChatActions {
  readonly send: (conv: string, body: string) => boolean;
  readonly typing: (conv: string, hasText: boolean) => void;
  readonly transfer: (conv: string, to: { readonly queue: string } | { readonly alias: string }) => void;
  readonly end: (conv: string, tags: Tags) => void;
  readonly close: (conv: string) => void;
  readonly colleagues: () => Promise<readonly Colleague[]>;
  /** The verified brobygger offices (fetched when the form opens). */
  readonly offices: () => Promise<readonly BrobyggerOffice[]>;
  /** Sends a referral offer; a problem to show, or `undefined` when it went. */
  readonly refer: (conv: string, draft: ReferralDraft) => string | undefined;
}

/** What a pane needs from the configuration. */
export interface ChatContext {
  readonly queues: readonly QueueName[];
  readonly canned: Readonly<Record<string, readonly string[]>>;
  readonly tags: TagVocabulary;
  /** The counsellor's certified alias (named in referrals). */
  readonly alias: string;
}

const NOTES: Readonly<Record<NoteKind, (v: string) => string>> = {
  secured: (v) => `Secure chat started. Safety code: ${v}.`,
  renewed: (v) => `The secure session was renewed. New safety code: ${v}.`,
  renewed_after_reload: () => 'This chat came back after the console was reloaded: the secure session is being renewed. Earlier messages are not kept on this device.',
  visitor_away: () => 'The visitor’s connection dropped. The chat is kept for them.',
  visitor_back: () => 'The visitor is back.',
  ended: (v) => `The chat has ended (${endText(v)}).`,
  crypto_failed: () => 'The secure session failed, so the chat was ended. Nothing more can be read or sent.',
  transferred: () => 'The chat was handed over.',
  link_lost: () => 'Your connection dropped. Reconnecting; the visitor will renew the secure session.',
  referral_offered: (v) => `Referral to ${v} offered. Waiting for the visitor’s answer.`,
  referral_not_this_offer: () => 'The visitor answered an offer that is not the one open now; that answer was not acted on.',
  referral_declined: () => 'The visitor said no to the referral. Nothing was sealed or sent.',
  referral_sealing: () => 'The visitor said yes. Signing and sealing the referral…',
  referral_sent: () => 'The sealed referral was sent. Waiting for the relay to store it.',
  referral_code_pending: (v) => `Referral stored with the code ${v}. It goes to the visitor as soon as the secure session is back.`,
  referral_stored: (v) => `Referral stored. The visitor got the code ${v} with the office’s address and hours.`,
  referral_refused: (v) => `The referral was not stored: ${v}. Nothing was given to the visitor.`,
  referral_cancelled: () => 'The chat ended before the referral was agreed and sealed, so nothing was sent.',
};

/** One line on where the chat's referral stands. */
function referralText(r: ReferralStatus | undefined): string {
  if (r === undefined) return '';
  switch (r.step) {
    case 'offered': case 'not_this_offer': return `Referral to ${r.officeName}: waiting for the visitor’s answer.`;
    case 'declined': return `Referral to ${r.officeName}: the visitor said no. Nothing was sent.`;
    case 'sealing': return `Referral to ${r.officeName}: the visitor said yes — sealing.`;
    case 'sent': return `Referral to ${r.officeName}: sealed and sent — waiting for the relay.`;
    case 'code_pending': return `Referral to ${r.officeName}: stored with code ${r.detail ?? ''} — not yet given to the visitor.`;
    case 'stored': return `Referral to ${r.officeName}: stored. Code ${r.detail ?? ''} given to the visitor.`;
    case 'refused': return `Referral to ${r.officeName}: not stored (${r.detail ?? 'refused'}).`;
    case 'cancelled': return `Referral to ${r.officeName}: cancelled, nothing was sent.`;
  }
}

function endText(reason: string): string {
  switch (reason) {
    case 'visitor_left': return 'the visitor left';
    case 'counsellor_ended': return 'ended by you';
    case 'resume_failed': return 'the visitor could not reconnect';
    case 'offer_expired': case 'offer_withdrawn': return 'the offer went away';
    case 'reassigned': return 'your connection was cut off and the chat went on with a colleague';
    case 'state_lost': return 'the service lost its state; the visitor can start again';
    default: return reason.replace(/_/g, ' ');
  }
}

function time(ts: number): string {
  const d = new Date(ts * 1000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

export class ChatPane {
  readonly el: HTMLElement;
  private readonly heading: HTMLHeadingElement;
  private readonly safety: HTMLParagraphElement;
  private readonly log: HTMLOListElement;
  private readonly logBox: HTMLDivElement;
  private readonly typingEl: HTMLParagraphElement;
  private readonly box: HTMLTextAreaElement;
  private readonly sendBtn: HTMLButtonElement;
  private readonly canned: HTMLSelectElement;
  private readonly tools: HTMLDivElement;
  private readonly formSlot: HTMLDivElement;
  private readonly referBtn: HTMLButtonElement;
  private readonly referStatus: HTMLParagraphElement;
  private readonly lineEls = new Map<string, HTMLLIElement>();
  private shown: Chat | undefined;

  constructor(readonly conv: string, readonly label: string, private readonly ctx: ChatContext, private readonly actions: ChatActions) {
    const id = `chat-${conv}`;
    this.heading = h('h2', { id: `${id}-h`, tabindex: '-1' }, label);
    this.safety = h('p', { class: 'safety' });
    this.log = h('ol', { class: 'log' });
    this.logBox = h('div', { class: 'log-box', role: 'log', 'aria-label': `Messages in ${label}` }, this.log);
    this.typingEl = h('p', { class: 'typing', 'aria-live': 'polite' });
    this.box = h('textarea', { id: `${id}-box`, rows: '3', maxlength: '4000', autocomplete: 'off' });
    this.sendBtn = button('Send', () => this.send(), { class: 'primary' });
    this.canned = h('select', { id: `${id}-canned` });
    this.canned.addEventListener('change', () => this.useCanned());
    this.box.addEventListener('input', () => this.actions.typing(this.conv, this.box.value.trim() !== ''));
    this.box.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.send();
      }
    });
    this.formSlot = h('div', { class: 'form-slot' });
    this.referBtn = button('Refer to a brobygger…', () => void this.openReferral());
    this.referStatus = h('p', { class: 'referral-status', role: 'status' });
    this.tools = h('div', { class: 'tools' },
      this.referBtn,
      button('Transfer…', () => void this.openTransfer()),
      button('End chat…', () => this.openEnd(), { class: 'danger' }));
    const compose = h('div', { class: 'compose' },
      h('label', { for: `${id}-box` }, 'Message'), this.box,
      h('div', { class: 'compose-row' },
        h('label', { for: `${id}-canned` }, 'Canned response'), this.canned, this.sendBtn));
    this.el = h('section', { class: 'chat', 'aria-labelledby': `${id}-h` },
      this.heading, this.safety, this.logBox,
      this.typingEl, compose, this.referStatus, this.tools, this.formSlot);
  }

  /** Moves focus to the message box (or the heading when there is none to type in). */
  focus(): void {
    if (!this.box.disabled) this.box.focus();
    else this.heading.focus();
  }

  /** Shows or hides the pane; a pane that appears shows its latest messages. */
  show(visible: boolean): void {
    if (this.el.hidden !== visible) return;
    this.el.hidden = !visible;
    if (visible) this.logBox.scrollTop = this.logBox.scrollHeight;
  }

  /** Brings the pane up to date with `c`. */
  render(c: Chat): void {
    const prev = this.shown;
    this.shown = c;
    const queue = c.queue === '' ? '' : ` — ${queueName(this.ctx.queues, c.queue)} (${c.queue})`;
    this.heading.textContent = `${this.label}${queue}`;
    if (prev?.queue !== c.queue) this.fillCanned(c.queue);
    this.safety.replaceChildren(...this.safetyText(c));
    for (const line of c.lines) if (!this.lineEls.has(line.id)) this.addLine(line);
    for (const line of c.lines) if (line.who === 'me') this.updateState(line);
    this.typingEl.textContent = c.peerTyping ? 'The visitor is typing…' : '';
    const canWrite = c.phase === 'secure';
    this.box.disabled = !canWrite;
    this.sendBtn.disabled = !canWrite;
    this.canned.disabled = !canWrite;
    this.referBtn.disabled = !canWrite;
    const referral = referralText(c.referral);
    if (this.referStatus.textContent !== referral) this.referStatus.textContent = referral;
    if (c.phase === 'ended' && prev?.phase !== 'ended') this.showEnded(c);
  }

  private safetyText(c: Chat): (Node | string)[] {
    if (c.phase === 'ended') return ['This chat has ended.'];
    if (c.phase === 'securing') return ['Securing the chat… waiting for the visitor’s handshake.'];
    return ['Safety code: ', h('span', { class: 'code' }, c.safetyCode ?? ''), c.visitorAway ? ' · the visitor is reconnecting' : ''];
  }

  private addLine(line: ChatLine): void {
    let li: HTMLLIElement;
    if (line.who === 'note') {
      const text = line.note === undefined ? line.text : NOTES[line.note](line.text);
      li = h('li', { class: 'note' }, text);
    } else {
      const who = line.who === 'me' ? 'You' : 'Visitor';
      li = h('li', { class: line.who }, h('span', { class: 'who' }, `${who} `), h('span', { class: 'at' }, time(line.ts)), h('br'), line.text);
      if (line.who === 'me') li.append(h('span', { class: 'state' }));
    }
    this.lineEls.set(line.id, li);
    this.log.append(li);
    // Only the log scrolls, never the page under the counsellor's cursor.
    this.logBox.scrollTop = this.logBox.scrollHeight;
  }

  private updateState(line: ChatLine): void {
    const el = this.lineEls.get(line.id)?.querySelector('.state');
    const text = line.state === 'read' ? 'Read' : 'Sent';
    if (el !== null && el !== undefined && el.textContent !== text) el.textContent = text;
  }

  private fillCanned(queue: string): void {
    const lang = queue.split('/')[0] ?? '';
    const list = this.ctx.canned[lang] ?? this.ctx.canned['en'] ?? [];
    this.canned.replaceChildren(h('option', { value: '' }, list.length === 0 ? 'None' : 'Choose…'),
      ...list.map((text, i) => h('option', { value: String(i) }, text)));
    this.canned.dataset['lang'] = lang;
  }

  private useCanned(): void {
    const lang = this.canned.dataset['lang'] ?? '';
    const list = this.ctx.canned[lang] ?? this.ctx.canned['en'] ?? [];
    const text = list[Number(this.canned.value)];
    this.canned.value = '';
    if (text === undefined || this.canned.selectedIndex < 0) return;
    this.box.value = this.box.value.trim() === '' ? text : `${this.box.value.trimEnd()} ${text}`;
    this.actions.typing(this.conv, true);
    this.box.focus();
  }

  private send(): void {
    const body = this.box.value.trim();
    if (body === '') return;
    if (this.actions.send(this.conv, body)) this.box.value = '';
  }

  private async openTransfer(): Promise<void> {
    const colleagues = await this.actions.colleagues().catch(() => []);
    const form = transferForm(this.conv, this.ctx.queues, colleagues, {
      submit: (to) => {
        this.formSlot.replaceChildren();
        this.heading.focus();
        this.actions.transfer(this.conv, to);
      },
      cancel: () => this.closeForm(),
    });
    this.formSlot.replaceChildren(form);
    form.querySelector<HTMLElement>('h3')?.focus();
  }

  private async openReferral(): Promise<void> {
    const offices = await this.actions.offices().catch(() => []);
    const lang = this.shown?.queue.split('/')[0] ?? '';
    const form = referralForm(this.conv, offices, lang, this.ctx.alias, {
      submit: (draft) => {
        const problem = this.actions.refer(this.conv, draft);
        if (problem === undefined) this.closeForm();
        return problem;
      },
      cancel: () => this.closeForm(),
    });
    this.formSlot.replaceChildren(form);
    form.querySelector<HTMLElement>('h3')?.focus();
  }

  private openEnd(): void {
    const form = tagForm(`end-${this.conv}`, 'End the chat', 'End chat', this.ctx.tags, 'chat', {
      submit: (tags) => {
        this.formSlot.replaceChildren();
        this.heading.focus();
        this.actions.end(this.conv, tags);
      },
      cancel: () => this.closeForm(),
    });
    this.formSlot.replaceChildren(form);
    form.querySelector<HTMLElement>('h3')?.focus();
  }

  private closeForm(): void {
    this.formSlot.replaceChildren();
    this.focus();
  }

  private showEnded(c: Chat): void {
    this.tools.replaceChildren(button('Close chat', () => this.actions.close(c.conv)));
    this.formSlot.replaceChildren();
  }
}
