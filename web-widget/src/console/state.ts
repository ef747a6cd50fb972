/**
 * The shift's state and its reducer: duty (off, going on, on, on a break), the link to the
 * relay, open offers, live chats (see `chats.ts`) and the phone desk's callback requests.
 * Pure — the connection (`connection.ts`) turns frames into {@link ShiftEvent}s, the view
 * draws the state.
 */

import type { CallbackItem } from '../proto/index.js';
import type { CallLog } from './calllog.js';
import { reduceChats } from './chats.js';
import type { Chat, ChatEvent } from './chats.js';
import type { Offer } from './offer.js';

/** Duty as the counsellor sees it. `starting`: sent, waiting to hear whether the relay refused it. */
export type Duty = 'off' | 'starting' | 'on' | 'break';

/** The WebSocket to the relay. */
export type Link = 'offline' | 'connecting' | 'online' | 'reconnecting';

/** Languages, topics and capacity the counsellor serves. */
export interface DutySettings {
  readonly langs: readonly string[];
  readonly topics: readonly string[];
  readonly capacity: number;
}

/** A message for the counsellor at the top of the console. */
export interface Notice {
  readonly kind: 'info' | 'problem';
  readonly key: NoticeKey;
  /** A short server message or value shown with it. */
  readonly detail?: string;
}

/** The notices the console shows. */
export type NoticeKey =
  | 'duty_refused' | 'missed_offers' | 'relay_error' | 'link_lost' | 'link_back' | 'shift_resumed';

export interface ShiftState {
  readonly duty: Duty;
  readonly link: Link;
  readonly settings?: DutySettings;
  readonly offers: readonly Offer[];
  readonly chats: readonly Chat[];
  /** The chat shown in the pane. */
  readonly active?: string;
  readonly callbacks: readonly CallbackItem[];
  /** Phone calls logged in this tab, newest last (times and tags only). */
  readonly calls: readonly LoggedCall[];
  readonly notice?: Notice;
}

/** A logged phone call and whether the relay counted it. */
export interface LoggedCall {
  readonly key: number;
  readonly log: CallLog;
  /** `sending`: no answer yet; `unconfirmed`: the connection dropped before one. */
  readonly status: 'sending' | 'counted' | 'refused' | 'unconfirmed';
  readonly detail?: string;
}

/** Everything that can happen during a shift. */
export type ShiftEvent =
  | ChatEvent
  | { readonly type: 'link'; readonly link: Link }
  | { readonly type: 'duty_requested'; readonly settings: DutySettings }
  | { readonly type: 'duty_confirmed' }
  | { readonly type: 'duty_refused'; readonly message: string }
  | { readonly type: 'duty_off' }
  | { readonly type: 'break'; readonly on: boolean; readonly missedOffers?: boolean }
  | { readonly type: 'offer'; readonly offer: Offer }
  | { readonly type: 'offer_gone'; readonly conv: string; readonly reason: string }
  | { readonly type: 'offer_declined'; readonly conv: string }
  | { readonly type: 'callbacks'; readonly items: readonly CallbackItem[] }
  | { readonly type: 'call_sent'; readonly key: number; readonly log: CallLog }
  | { readonly type: 'call_result'; readonly key: number; readonly ok: boolean; readonly detail?: string }
  | { readonly type: 'select'; readonly conv: string }
  | { readonly type: 'notice'; readonly notice: Notice }
  | { readonly type: 'dismiss_notice' };

/** Before the first shift. */
export function initialShift(): ShiftState {
  return { duty: 'off', link: 'offline', offers: [], chats: [], callbacks: [], calls: [] };
}

function withoutOffer(s: ShiftState, conv: string): ShiftState {
  return s.offers.some((o) => o.conv === conv) ? { ...s, offers: s.offers.filter((o) => o.conv !== conv) } : s;
}

function isChatEvent(e: ShiftEvent): e is ChatEvent {
  return e.type.startsWith('chat');
}

/** Chat events, plus choosing which chat is shown: the first one, or the next when one closes. */
function onChat(s: ShiftState, e: ChatEvent): ShiftState {
  let next: ShiftState = { ...s, chats: reduceChats(s.chats, e) };
  if (e.type === 'chat_accepted') next = withoutOffer(next, e.conv);
  if (next.active === undefined || !next.chats.some((c) => c.conv === next.active)) {
    const first = next.chats[0];
    const { active: _a, ...rest } = next;
    void _a;
    next = first === undefined ? rest : { ...rest, active: first.conv };
  }
  return next;
}

/** The next state. */
export function reduceShift(s: ShiftState, e: ShiftEvent): ShiftState {
  if (isChatEvent(e)) return onChat(s, e);
  switch (e.type) {
    case 'link':
      if (e.link === 'reconnecting' || e.link === 'offline') {
        // Offers go back to the queue with the connection; sessions die with it (new epochs follow).
        const lost = s.link === 'online' && e.link === 'reconnecting';
        const next: ShiftState = { ...s, link: e.link, offers: [] };
        return lost ? { ...onChat(next, { type: 'chats_link_lost', nowS: 0 }), notice: { kind: 'problem', key: 'link_lost' } } : next;
      }
      return { ...s, link: e.link };
    case 'duty_requested':
      return { ...s, duty: 'starting', settings: e.settings };
    case 'duty_confirmed':
      return s.duty === 'starting' ? { ...s, duty: 'on' } : s;
    case 'duty_refused':
      return { ...s, duty: 'off', offers: [], notice: { kind: 'problem', key: 'duty_refused', detail: e.message } };
    case 'duty_off':
      return { ...s, duty: 'off', offers: [] };
    case 'break':
      if (s.duty === 'off') return s;
      if (e.on && e.missedOffers === true) return { ...s, duty: 'break', offers: [], notice: { kind: 'problem', key: 'missed_offers' } };
      return { ...s, duty: e.on ? 'break' : 'on', offers: e.on ? [] : s.offers };
    case 'offer':
      return s.offers.some((o) => o.conv === e.offer.conv) ? s : { ...s, offers: [...s.offers, e.offer] };
    case 'offer_gone':
    case 'offer_declined':
      return withoutOffer(s, e.conv);
    case 'callbacks':
      return { ...s, callbacks: e.items };
    case 'call_sent':
      return { ...s, calls: [...s.calls, { key: e.key, log: e.log, status: 'sending' as const }].slice(-20) };
    case 'call_result': {
      const status = e.ok ? 'counted' as const : e.detail === 'unconfirmed' ? 'unconfirmed' as const : 'refused' as const;
      const calls = s.calls.map((c) => c.key !== e.key ? c : { key: c.key, log: c.log, status, ...(status === 'refused' && e.detail !== undefined ? { detail: e.detail } : {}) });
      return { ...s, calls };
    }
    case 'select':
      return s.chats.some((c) => c.conv === e.conv) ? onChat({ ...s, active: e.conv }, { type: 'chat_seen', conv: e.conv }) : s;
    case 'notice':
      return { ...s, notice: e.notice };
    case 'dismiss_notice': {
      const { notice: _n, ...rest } = s;
      void _n;
      return rest;
    }
  }
}
