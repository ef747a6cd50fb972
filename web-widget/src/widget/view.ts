/**
 * Draws the state: one `<main>` per screen, rebuilt when the screen or language changes (and
 * focus moved to its heading), patched in place otherwise — chat lines are added by id, never
 * twice, and the visitor's draft survives. New messages are announced by the `role="log"` list,
 * queue updates and reconnects by a polite live region.
 */

import type { OfficeCert } from '../proto/index.js';
import type { Lang } from '../shared/langs.js';
import type { CallbackFrame } from './callback.js';
import { button, h } from './dom.js';
import { callbackForm, topicForm } from './forms.js';
import { t } from './i18n.js';
import type { MsgKey } from './i18n.js';
import type { Answer, CodeCard, OfferCard } from './referral.js';
import type { Line, State, StatusInfo } from './state.js';

/** What the view asks of the rest of the widget. */
export interface Actions {
  readonly join: (queue: string) => void;
  readonly retryStatus: () => void;
  readonly leaveQueue: () => void;
  readonly send: (body: string) => void;
  readonly typing: (hasText: boolean) => void;
  readonly end: () => void;
  readonly download: () => void;
  readonly restart: () => void;
  readonly sendCallback: (frame: CallbackFrame) => Promise<boolean>;
  /** The visitor's answer to the referral offer in line `id`. */
  readonly answerOffer: (id: string, answer: Answer) => void;
}

const PROBLEM_TEXT: Readonly<Record<string, MsgKey>> = {
  queue_full: 'queueFull', closed: 'closed', rate_limited: 'rateLimited', overloaded: 'overloaded',
  unknown_queue: 'unknownQueue', internal: 'internalError', connection_lost: 'connectionLost',
};

const ENDED_TEXT: Readonly<Record<string, MsgKey>> = {
  counsellor: 'endedByCounsellor', visitor: 'endedByYou', resume_expired: 'resumeExpired', crypto_failed: 'cryptoFailed', other: 'endedOther',
};

export class View {
  private key = '';
  private shown: State | undefined;
  private lineEls = new Map<string, HTMLElement>();
  private draft = '';
  private desk: OfficeCert | undefined;
  /** Numbers the referral cards' heading ids. */
  private cardIds = 0;

  constructor(private readonly main: HTMLElement, private readonly live: HTMLElement, private readonly banner: HTMLElement, private readonly actions: Actions) {}

  /** The phone desk, once `/v1/offices` has answered with one; shows the callback form. */
  setDesk(desk: OfficeCert | undefined): void {
    this.desk = desk;
    this.key = '';
    if (this.shown !== undefined) this.render(this.shown, false);
  }

  /** Brings the page up to date with `s`. */
  render(s: State, moveFocus = true): void {
    const prev = this.shown;
    this.shown = s;
    const statusKind = s.status === undefined ? 'loading' : s.status === 'failed' ? 'failed' : 'ok';
    const key = `${s.screen}|${s.lang}|${s.screen === 'start' ? statusKind : ''}|${s.screen === 'chat' ? s.safetyCode ?? '' : ''}`;
    if (key !== this.key) {
      const screenChanged = prev === undefined || prev.screen !== s.screen;
      this.key = key;
      this.lineEls.clear();
      this.main.replaceChildren(...this.screen(s));
      if (screenChanged && moveFocus && prev !== undefined) this.main.querySelector('h1')?.focus();
    }
    this.patch(s);
    this.banner.hidden = s.online;
    this.banner.textContent = s.online ? '' : t(s.lang, 'reconnecting');
    if (s.announce !== undefined && s.announce !== prev?.announce) {
      this.live.textContent = t(s.lang, s.announce.key, s.announce.vars ?? {});
    }
  }

  private screen(s: State): Node[] {
    const L = s.lang;
    const h1 = (key: MsgKey, vars = {}): HTMLElement => h('h1', { tabindex: '-1' }, t(L, key, vars));
    switch (s.screen) {
      case 'start':
        return [h1('title'), ...this.start(s)];
      case 'joining':
        return [h1('connecting')];
      case 'queued':
        return [h1('queuedTitle'), h('p', { id: 'q-pos' }), h('p', { id: 'q-eta' }), h('p', {}, t(L, 'queueKeepOpen')),
          button(t(L, 'leaveQueue'), this.actions.leaveQueue)];
      case 'securing':
        return [h1('securing')];
      case 'chat':
        return [h1('talkingWith', { alias: s.alias ?? '' }), ...this.chat(s)];
      case 'ended':
        return [h1('endedTitle'), h('p', {}, t(L, ENDED_TEXT[s.ended ?? 'other'] ?? 'endedOther', { alias: s.alias ?? '' })),
          ...(s.lines.some((l) => l.who !== 'note') ? [button(t(L, 'download'), this.actions.download), h('p', { class: 'muted' }, t(L, 'downloadHelp'))] : []),
          button(t(L, 'startAgain'), this.actions.restart, { class: 'primary' }), ...this.phone(s)];
      case 'problem': {
        const p = s.problem;
        const text = p === undefined ? 'internalError' : PROBLEM_TEXT[p.kind] ?? 'internalError';
        const vars = p?.kind === 'rate_limited' ? { seconds: p.retryAfterS } : {};
        return [h1('problemTitle'), h('p', { class: 'problem' }, t(L, text, vars)), ...this.phone(s), ...this.callback(s),
          button(t(L, 'tryAgain'), this.actions.restart, { class: 'primary' })];
      }
    }
  }

  private phone(s: State): Node[] {
    const st = s.status;
    if (st === undefined || st === 'failed') return [];
    return [h('p', { class: 'phone' }, t(s.lang, 'phoneLine', { number: st.phone.number, hours: st.phone.hours }))];
  }

  private callback(s: State): Node[] {
    return this.desk === undefined ? [] : [callbackForm(this.desk, s.lang, this.actions.sendCallback)];
  }

  private start(s: State): Node[] {
    const L = s.lang;
    const safety = h('section', { class: 'safety', 'aria-labelledby': 'safety-title' },
      h('h2', { id: 'safety-title' }, t(L, 'safetyTitle')), h('p', {}, t(L, 'safetyText')), h('p', {}, h('strong', {}, t(L, 'safetyLimit'))));
    if (s.status === undefined) return [h('p', {}, t(L, 'loading')), safety];
    if (s.status === 'failed') return [h('p', { class: 'problem' }, t(L, 'statusFailed')), safety, button(t(L, 'tryAgain'), this.actions.retryStatus, { class: 'primary' })];
    const st: StatusInfo = s.status;
    const open = h('p', {}, t(L, st.open ? 'statusOpen' : 'statusClosed', { hours: st.hours }));
    const choose = st.open && st.queues.length > 0 ? [topicForm(st, L, this.actions.join)] : st.open ? [h('p', {}, t(L, 'noTopics'))] : [];
    return [open, safety, ...choose, ...this.phone(s), ...this.callback(s)];
  }

  private chat(s: State): Node[] {
    const L = s.lang;
    const code = h('p', { class: 'code' }, t(L, 'safetyCode', { code: s.safetyCode ?? '' }));
    const codeHelp = h('p', { class: 'muted' }, t(L, 'safetyCodeHelp', { alias: s.alias ?? '' }));
    const log = h('div', { role: 'log', 'aria-label': t(L, 'messages') }, h('ol', { class: 'log', id: 'log' }));
    const typing = h('p', { class: 'typing', id: 'typing', 'aria-live': 'polite' });
    const box = h('textarea', { id: 'msg', rows: '3', maxlength: '4000', autocomplete: 'off', spellcheck: 'true' });
    box.value = this.draft;
    const form = h('form', { class: 'compose' }, h('label', { for: 'msg' }, t(L, 'messageLabel')), box,
      h('button', { type: 'submit', class: 'primary' }, t(L, 'send')));
    const submit = (): void => {
      const body = box.value.trim();
      if (body === '') return;
      this.actions.send(body);
      box.value = '';
      this.draft = '';
      box.focus();
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submit();
    });
    box.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        submit();
      }
    });
    box.addEventListener('input', () => {
      this.draft = box.value;
      this.actions.typing(box.value.trim() !== '');
    });
    const tools = h('div', { class: 'tools' }, button(t(L, 'download'), this.actions.download), button(t(L, 'endChat'), this.actions.end, { class: 'danger' }));
    return [code, codeHelp, log, typing, form, tools];
  }

  private patch(s: State): void {
    if (s.screen === 'queued') {
      const pos = this.main.querySelector('#q-pos');
      const eta = this.main.querySelector('#q-eta');
      if (pos !== null) pos.textContent = t(s.lang, 'queuePosition', { position: s.position ?? 1 });
      if (eta !== null) eta.textContent = (s.etaMin ?? 0) > 0 ? t(s.lang, 'queueWait', { minutes: s.etaMin ?? 0 }) : t(s.lang, 'queueWaitSoon');
    }
    if (s.screen !== 'chat') return;
    const log = this.main.querySelector('#log');
    if (log === null) return;
    for (const line of s.lines) {
      const existing = this.lineEls.get(line.id);
      if (existing === undefined) {
        const el = this.line(s.lang, s.alias ?? '', line);
        this.lineEls.set(line.id, el);
        log.append(el);
        el.scrollIntoView({ block: 'end' });
      } else if (line.who === 'me') {
        const state = existing.querySelector('.state');
        if (state !== null) state.textContent = this.stateText(s.lang, line);
        existing.dataset['state'] = line.state ?? '';
      } else if (line.offer !== undefined && existing.dataset['answer'] !== (line.offer.answer ?? '')) {
        this.drawAnswer(s.lang, line.id, line.offer, existing);
      }
    }
    const typing = this.main.querySelector('#typing');
    if (typing !== null) typing.textContent = s.peerTyping ? t(s.lang, 'typing', { alias: s.alias ?? '' }) : '';
  }

  private stateText(lang: Lang, line: Line): string {
    return t(lang, line.state === 'read' ? 'read' : line.state === 'sent' ? 'sent' : 'sending');
  }

  private line(lang: Lang, alias: string, line: Line): HTMLElement {
    if (line.offer !== undefined) return this.offerCard(lang, alias, line.id, line.offer);
    if (line.code !== undefined) return this.codeCard(lang, line.code);
    if (line.who === 'note') {
      return h('li', { class: 'note' }, line.note ? t(lang, line.note.key, line.note.vars ?? {}) : line.text);
    }
    const who = line.who === 'me' ? t(lang, 'you') : alias;
    const li = h('li', { class: line.who, 'data-id': line.id },
      h('span', { class: 'who' }, `${who}: `), h('span', { class: 'body' }, line.text));
    if (line.who === 'me') {
      li.dataset['state'] = line.state ?? '';
      li.append(h('span', { class: 'state' }, this.stateText(lang, line)));
    }
    return li;
  }

  /**
   * The consent card: who suggests what, exactly the offered fields, that nothing is sent
   * without a yes, how to withdraw, and Yes / No — replaced by the answer once given.
   */
  private offerCard(lang: Lang, alias: string, id: string, offer: OfferCard): HTMLElement {
    const titleId = `ref-${this.cardIds++}`;
    const vars = { alias, office: offer.officeName };
    const li = h('li', { class: 'referral offer', 'data-id': id, 'aria-labelledby': titleId },
      h('h2', { id: titleId }, t(lang, 'referralOfferTitle', vars)),
      h('p', {}, t(lang, 'referralOfferIntro', vars)),
      h('ul', { class: 'fields' }, ...offer.fields.map((f) => h('li', {}, f))),
      h('p', {}, h('strong', {}, t(lang, 'referralNothingSent'))),
      h('p', {}, t(lang, 'referralWithdraw', vars)),
      h('div', { class: 'answer' }));
    this.drawAnswer(lang, id, offer, li);
    return li;
  }

  /** Draws the answer area of an offer card: the buttons, or the answer given (focused if it was just given here). */
  private drawAnswer(lang: Lang, id: string, offer: OfferCard, li: HTMLElement): void {
    const area = li.querySelector('.answer');
    if (area === null) return;
    li.dataset['answer'] = offer.answer ?? '';
    if (offer.answer === undefined) {
      area.replaceChildren(
        button(t(lang, 'referralYes'), () => this.actions.answerOffer(id, 'yes'), { class: 'primary' }),
        button(t(lang, 'referralNo'), () => this.actions.answerOffer(id, 'no')));
      return;
    }
    const active = document.activeElement;
    const hadFocus = active !== null && area.contains(active);
    const said = h('p', { class: 'answered', tabindex: '-1' }, t(lang, offer.answer === 'yes' ? 'referralSaidYes' : 'referralSaidNo'));
    area.replaceChildren(said);
    if (hadFocus) said.focus();
  }

  /** The code card: the code large, where and when to quote it, and that it is kept nowhere. */
  private codeCard(lang: Lang, code: CodeCard): HTMLElement {
    const titleId = `ref-${this.cardIds++}`;
    return h('li', { class: 'referral code-card', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, t(lang, 'referralCodeTitle', { office: code.officeName })),
      h('p', { class: 'refcode' }, code.code),
      h('p', {}, t(lang, 'referralCodeHelp')),
      h('p', {}, t(lang, 'referralAddress', { address: code.address })),
      h('p', {}, t(lang, 'referralHours', { hours: code.hours })),
      h('p', { class: 'muted' }, t(lang, 'referralCodeKeep')));
  }
}
