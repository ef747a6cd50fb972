/**
 * The shift screen: duty (skills, capacity, break, end of shift), offers with their
 * countdown, the list of chats with unread counts, the active chat's pane and the phone
 * desk. Patched in place by key, so buttons keep focus while countdowns tick.
 */

import { button, h } from '../widget/dom.js';
import type { Tags } from '../proto/index.js';
import { liveCount } from './chats.js';
import type { Chat } from './chats.js';
import type { Colleague, ConsoleConfig } from './config.js';
import { queueName, skillsOffered } from './config.js';
import { clock, openOffers, secondsLeft } from './offer.js';
import type { Offer } from './offer.js';
import type { DutySettings, ShiftState } from './state.js';
import type { CallLog } from './calllog.js';
import type { BrobyggerOffice } from './offices.js';
import type { ReferralDraft } from './referral.js';
import { CallsPanel } from './view-calls.js';
import { ChatPane } from './view-chat.js';
import { DeskPanel } from './view-desk.js';
import { words } from './view-forms.js';

/** What the shift screen asks of the console. */
export interface ShiftActions {
  readonly goOnDuty: (settings: DutySettings) => void;
  readonly setBreak: (on: boolean) => void;
  readonly endShift: () => void;
  readonly accept: (offer: Offer) => void;
  readonly decline: (conv: string) => void;
  readonly select: (conv: string) => void;
  readonly send: (conv: string, body: string) => boolean;
  readonly typing: (conv: string, hasText: boolean) => void;
  readonly transfer: (conv: string, to: { readonly queue: string } | { readonly alias: string }) => void;
  readonly end: (conv: string, tags: Tags) => void;
  readonly close: (conv: string) => void;
  readonly colleagues: () => Promise<readonly Colleague[]>;
  readonly callbackDone: (id: string, tags: Tags) => void;
  readonly offices: () => Promise<readonly BrobyggerOffice[]>;
  readonly refer: (conv: string, draft: ReferralDraft) => string | undefined;
  /** Logs a phone call; a problem to show, or `undefined` when it was sent. */
  readonly logCall: (call: CallLog) => string | undefined;
}

export class ShiftView {
  readonly el: HTMLElement;
  private readonly dutyEl: HTMLElement;
  private readonly offersList: HTMLUListElement;
  private readonly offersSection: HTMLElement;
  private readonly chatList: HTMLUListElement;
  private readonly paneSlot: HTMLElement;
  private readonly empty: HTMLElement;
  /** Announces new offers to screen readers (the list itself is not a live region). */
  private readonly announce: HTMLElement;
  readonly desk: DeskPanel;
  private readonly calls: CallsPanel;
  private readonly panes = new Map<string, ChatPane>();
  private readonly offerEls = new Map<string, { li: HTMLLIElement; left: HTMLElement }>();
  private readonly chatEls = new Map<string, HTMLButtonElement>();
  private dutyKey = '';
  private chatCount = 0;
  private shown: ShiftState | undefined;

  constructor(private readonly config: ConsoleConfig, private readonly actions: ShiftActions, deskPub: () => Uint8Array | undefined,
    private readonly alias: string) {
    this.dutyEl = h('section', { class: 'duty', 'aria-labelledby': 'duty-h' });
    this.offersList = h('ul', { class: 'offers', 'aria-label': 'Offers' });
    this.announce = h('p', { class: 'sr-only', 'aria-live': 'assertive' });
    this.offersSection = h('section', { class: 'offers-box', 'aria-labelledby': 'offers-h' },
      h('h2', { id: 'offers-h' }, 'Offers'), this.offersList, this.announce);
    this.chatList = h('ul', { class: 'chat-list', 'aria-label': 'Your chats' });
    this.empty = h('p', { class: 'muted empty' }, 'No chats yet. Accepted offers open here.');
    this.paneSlot = h('div', { class: 'panes' }, this.empty);
    this.desk = new DeskPanel(config.tags, deskPub, actions.callbackDone);
    this.calls = new CallsPanel(config.tags, skillsOffered(config.queues).langs, actions.logCall);
    const side = h('div', { class: 'side' }, this.dutyEl, this.offersSection,
      h('nav', { 'aria-labelledby': 'chats-h' }, h('h2', { id: 'chats-h', tabindex: '-1' }, 'Chats'), this.chatList), this.desk.el, this.calls.el);
    this.el = h('div', { class: 'shift' }, side, this.paneSlot);
  }

  /** Brings the screen up to date. */
  render(s: ShiftState, nowMs: number): void {
    const prev = this.shown;
    this.shown = s;
    this.renderDuty(s);
    this.renderOffers(s.offers, nowMs);
    this.renderChats(s, prev);
    if (prev?.callbacks !== s.callbacks) this.desk.render(s.callbacks);
    this.calls.render(s.calls);
  }

  /** Updates the countdowns (called every second while offers are open). */
  tick(nowMs: number): void {
    if (this.shown !== undefined) this.renderOffers(this.shown.offers, nowMs);
  }

  /** The pane of the active chat, to focus after choosing it. */
  focusActive(): void {
    const active = this.shown?.active;
    if (active !== undefined) this.panes.get(active)?.focus();
  }

  private renderDuty(s: ShiftState): void {
    const live = liveCount(s.chats);
    const key = `${s.duty}|${s.link}|${live}|${s.settings?.capacity ?? 0}`;
    if (key === this.dutyKey) return;
    const hadFocus = this.dutyEl.contains(document.activeElement);
    this.dutyKey = key;
    const heading = h('h2', { id: 'duty-h', tabindex: '-1' }, 'Duty');
    switch (s.duty) {
      case 'off':
        this.dutyEl.replaceChildren(heading, this.dutyForm(s.settings));
        break;
      case 'starting':
        this.dutyEl.replaceChildren(heading, h('p', { role: 'status' }, 'Going on duty…'));
        break;
      case 'on':
      case 'break': {
        const cap = s.settings?.capacity ?? 1;
        const status = s.duty === 'break' ? 'On a break — no new offers.' : `On duty — ${live} of ${cap} chats.`;
        const endBtn = button('End shift', () => this.actions.endShift(), { class: 'danger' });
        endBtn.disabled = live > 0;
        this.dutyEl.replaceChildren(heading, h('p', { role: 'status', class: 'duty-status' }, status),
          h('div', { class: 'tools' },
            s.duty === 'break' ? button('End break', () => this.actions.setBreak(false), { class: 'primary' })
              : button('Take a break', () => this.actions.setBreak(true)),
            endBtn),
          live > 0 ? h('p', { class: 'muted' }, 'End or transfer your chats before ending the shift.') : '');
        break;
      }
    }
    if (hadFocus) heading.focus();
  }

  private dutyForm(last: DutySettings | undefined): HTMLFormElement {
    const { langs, topics } = skillsOffered(this.config.queues);
    const box = (name: string, value: string, label: string, checked: boolean): HTMLElement => {
      const id = `${name}-${value}`;
      return h('div', { class: 'choice' }, h('input', { type: 'checkbox', id, name, value, checked }), h('label', { for: id }, label));
    };
    const capacity = h('input', { type: 'number', id: 'capacity', min: '1', max: String(this.config.maxCapacity),
      value: String(Math.min(last?.capacity ?? 2, this.config.maxCapacity)), inputmode: 'numeric' });
    const error = h('p', { class: 'problem', role: 'alert' });
    const form = h('form', { class: 'duty-form', novalidate: true, 'aria-labelledby': 'duty-h' },
      h('fieldset', {}, h('legend', {}, 'Languages'), ...langs.map((l) => box('lang', l, l, last?.langs.includes(l) ?? true))),
      h('fieldset', {}, h('legend', {}, 'Topics'), ...topics.map((t) => box('topic', t, words(t), last?.topics.includes(t) ?? true))),
      h('div', { class: 'field' }, h('label', { for: 'capacity' }, `Chats at once (1–${this.config.maxCapacity})`), capacity),
      error,
      h('button', { type: 'submit', class: 'primary' }, 'Go on duty'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const checked = (name: string): string[] => Array.from(form.querySelectorAll<HTMLInputElement>(`input[name=${name}]:checked`), (i) => i.value);
      const cap = Number(capacity.value);
      const settings = { langs: checked('lang'), topics: checked('topic'), capacity: cap };
      if (settings.langs.length === 0 || settings.topics.length === 0) error.textContent = 'Choose at least one language and one topic.';
      else if (!Number.isInteger(cap) || cap < 1 || cap > this.config.maxCapacity) error.textContent = `Chats at once must be 1 to ${this.config.maxCapacity}.`;
      else this.actions.goOnDuty(settings);
    });
    return form;
  }

  private renderOffers(offers: readonly Offer[], nowMs: number): void {
    const open = openOffers(offers, nowMs);
    for (const [conv, el] of this.offerEls) {
      if (!open.some((o) => o.conv === conv)) {
        el.li.remove();
        this.offerEls.delete(conv);
      }
    }
    for (const o of open) {
      let el = this.offerEls.get(o.conv);
      if (el === undefined) {
        const left = h('span', { class: 'left' });
        const li = h('li', { class: 'offer' },
          h('p', {}, h('strong', {}, `New visitor · ${queueName(this.config.queues, o.queue)} (${o.queue})`),
            h('br'), `Waited ${clock(o.waitedS)} · `, left),
          h('div', { class: 'tools' }, button('Accept', () => this.actions.accept(o), { class: 'primary' }),
            button('Decline', () => this.actions.decline(o.conv))));
        el = { li, left };
        this.offerEls.set(o.conv, el);
        this.announce.textContent = `New offer: ${queueName(this.config.queues, o.queue)}, ${secondsLeft(o, nowMs)} seconds to accept.`;
        this.offersList.append(li);
      }
      const text = `${secondsLeft(o, nowMs)} s left to accept`;
      if (el.left.textContent !== text) el.left.textContent = text;
    }
    this.offersSection.classList.toggle('has-offers', open.length > 0);
    const none = this.offersList.querySelector('.none');
    if (open.length === 0 && none === null) this.offersList.append(h('li', { class: 'none muted' }, 'No offers right now.'));
    if (open.length > 0) none?.remove();
  }

  private renderChats(s: ShiftState, prev: ShiftState | undefined): void {
    const ctx = { queues: this.config.queues, canned: this.config.canned, tags: this.config.tags, alias: this.alias };
    let lostFocus = false;
    for (const [conv, pane] of this.panes) {
      if (!s.chats.some((c) => c.conv === conv)) {
        lostFocus ||= pane.el.contains(document.activeElement);
        pane.el.remove();
        this.panes.delete(conv);
        this.chatEls.get(conv)?.parentElement?.remove();
        this.chatEls.delete(conv);
      }
    }
    for (const c of s.chats) {
      let pane = this.panes.get(c.conv);
      if (pane === undefined) {
        this.chatCount += 1;
        pane = new ChatPane(c.conv, `Chat ${this.chatCount}`, ctx, this.actions);
        this.panes.set(c.conv, pane);
        this.paneSlot.append(pane.el);
        const b = button('', () => this.actions.select(c.conv), { class: 'chat-tab' });
        this.chatEls.set(c.conv, b);
        this.chatList.append(h('li', {}, b));
      }
      const prevChat = prev?.chats.find((p) => p.conv === c.conv);
      if (prevChat !== c) pane.render(c);
      pane.show(c.conv === s.active);
      this.updateTab(c, c.conv === s.active, pane.label);
    }
    this.empty.hidden = s.chats.length > 0;
    // Focus was in a chat that just went: it moves to the chat now shown, or to the list.
    if (lostFocus) {
      if (s.active !== undefined) this.panes.get(s.active)?.focus();
      else this.el.querySelector<HTMLElement>('#chats-h')?.focus();
    }
    const none = this.chatList.querySelector('.none');
    if (s.chats.length === 0 && none === null) this.chatList.append(h('li', { class: 'none muted' }, 'None.'));
    if (s.chats.length > 0) none?.remove();
  }

  private updateTab(c: Chat, active: boolean, label: string): void {
    const b = this.chatEls.get(c.conv);
    if (b === undefined) return;
    const parts = c.queue === '' ? [label] : [label, queueName(this.config.queues, c.queue)];
    if (c.phase === 'ended') parts.push('ended');
    else if (c.phase === 'securing') parts.push('securing');
    if (c.unread > 0) parts.push(`${c.unread} unread`);
    if (c.peerTyping) parts.push('typing');
    const text = parts.join(' · ');
    if (b.textContent !== text) b.textContent = text;
    if (active) b.setAttribute('aria-current', 'true');
    else b.removeAttribute('aria-current');
    b.classList.toggle('unread', c.unread > 0);
  }
}
