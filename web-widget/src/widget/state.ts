/**
 * The widget's state and its reducer: which screen the visitor sees, the queue, the chat
 * lines with their sent/read state, and problems in plain words. Pure — the connection
 * (`client.ts`) turns frames into {@link Event}s, the view (`view.ts`) draws the state.
 */

import type { Lang } from '../shared/langs.js';
import type { MsgKey } from './i18n.js';
import { answered } from './referral.js';
import type { Answer, CodeCard, OfferCard } from './referral.js';

/** A queue from `GET /v1/status`. */
export interface QueueInfo {
  readonly id: string;
  readonly names: Readonly<Record<string, string>>;
  readonly etaS: number;
}

/** What `GET /v1/status` says. */
export interface StatusInfo {
  readonly open: boolean;
  readonly hours: string;
  readonly queues: readonly QueueInfo[];
  readonly phone: { readonly number: string; readonly hours: string };
}

/** The screens, in the order a visitor usually meets them. */
export type Screen = 'start' | 'joining' | 'queued' | 'securing' | 'chat' | 'ended' | 'problem';

/**
 * One line in the chat: a message either way, a note from the widget itself, or the
 * counsellor's referral offer or code.
 */
export interface Line {
  /** Unique and stable: `me:<epoch>:<n>`, `them:<epoch>:<n>` (also offers and codes) or `note:<i>`. */
  readonly id: string;
  readonly who: 'me' | 'them' | 'note' | 'offer' | 'code';
  readonly text: string;
  readonly ts: number;
  /** For messages sent by the visitor: delivered to the relay, read by the counsellor. */
  readonly state?: 'pending' | 'sent' | 'read';
  /** For notes: the message and its variables (drawn in the current language). */
  readonly note?: { readonly key: MsgKey; readonly vars?: Readonly<Record<string, string>> };
  /** For `offer`: what is offered, and the answer once given. */
  readonly offer?: OfferCard;
  /** For `code`: the referral code and where to quote it. */
  readonly code?: CodeCard;
}

/** A problem that stops the visitor, shown in plain words with what to do instead. */
export type Problem =
  | { readonly kind: 'queue_full' | 'closed' | 'overloaded' | 'unknown_queue' | 'internal' | 'connection_lost' }
  | { readonly kind: 'rate_limited'; readonly retryAfterS: number };

/** Why a chat ended, as the visitor is told. */
export type EndReason = 'counsellor' | 'visitor' | 'resume_expired' | 'crypto_failed' | 'other';

export interface State {
  readonly screen: Screen;
  readonly lang: Lang;
  /** `undefined` while loading. */
  readonly status: StatusInfo | 'failed' | undefined;
  readonly queue?: string;
  readonly position?: number;
  /** Whole minutes, rounded up; 0 = under a minute. */
  readonly etaMin?: number;
  /** The alias from the verified certificate. */
  readonly alias?: string;
  readonly safetyCode?: string;
  /** Session epochs completed: 1 after the first handshake, 2 after a renewal, … */
  readonly epoch: number;
  readonly lines: readonly Line[];
  readonly peerTyping: boolean;
  /** False while the connection is lost and being restored. */
  readonly online: boolean;
  readonly problem?: Problem;
  readonly ended?: EndReason;
  /** A short announcement for the polite live region (queue updates, reconnects). */
  readonly announce?: { readonly key: MsgKey; readonly vars?: Readonly<Record<string, string | number>> };
}

/** Everything that can happen. */
export type Event =
  | { readonly type: 'status'; readonly status: StatusInfo }
  | { readonly type: 'status_failed' }
  | { readonly type: 'lang'; readonly lang: Lang }
  | { readonly type: 'join'; readonly queue: string }
  | { readonly type: 'queued'; readonly position: number; readonly etaS: number }
  | { readonly type: 'assigned' }
  | { readonly type: 'secured'; readonly alias: string; readonly safetyCode: string }
  | { readonly type: 'sent'; readonly n: number; readonly body: string; readonly ts: number; readonly delivered: boolean }
  | { readonly type: 'delivered'; readonly upto: number }
  | { readonly type: 'received'; readonly n: number; readonly body: string; readonly ts: number }
  | { readonly type: 'read'; readonly upto: number }
  | { readonly type: 'referral_offer'; readonly n: number; readonly offer: OfferCard }
  | { readonly type: 'referral_answered'; readonly id: string; readonly answer: Answer }
  | { readonly type: 'referral_code'; readonly n: number; readonly code: CodeCard }
  | { readonly type: 'peer_typing'; readonly on: boolean }
  | { readonly type: 'note'; readonly key: MsgKey }
  | { readonly type: 'connection_lost' }
  | { readonly type: 'reconnected' }
  | { readonly type: 'ended'; readonly reason: EndReason }
  | { readonly type: 'error'; readonly code: string; readonly retryAfterS?: number }
  | { readonly type: 'restart' };

/** The first state: loading the status in `lang`. */
export function initialState(lang: Lang): State {
  return { screen: 'start', lang, status: undefined, epoch: 0, lines: [], peerTyping: false, online: true };
}

/** Minutes to show for a wait of `etaS` seconds: rounded up, 0 for none. */
export function etaMinutes(etaS: number): number {
  return Math.max(0, Math.ceil(etaS / 60));
}

const JOIN_PROBLEMS: Readonly<Record<string, Problem['kind']>> = {
  queue_full: 'queue_full', closed: 'closed', overloaded: 'overloaded', unknown_queue: 'unknown_queue',
  rate_limited: 'rate_limited', internal: 'internal', connection_lost: 'connection_lost',
};

function note(s: State, key: MsgKey, vars: Readonly<Record<string, string>> = {}): State {
  const line: Line = { id: `note:${s.lines.length}`, who: 'note', text: '', ts: 0, note: { key, vars } };
  return { ...s, lines: [...s.lines, line], announce: { key, vars } };
}

function markMine(s: State, upto: number, to: 'sent' | 'read'): State {
  const prefix = `me:${s.epoch}:`;
  let changed = false;
  const lines = s.lines.map((l) => {
    if (l.who !== 'me' || !l.id.startsWith(prefix) || l.state === 'read' || l.state === to) return l;
    if (Number(l.id.slice(prefix.length)) > upto) return l;
    changed = true;
    return { ...l, state: to };
  });
  return changed ? { ...s, lines } : s;
}

/** Ends the chat: keeps the lines (for download), forgets the typing state. */
/**
 * Whether `line` is a text the counsellor already sent in an earlier epoch that comes again
 * in this one (the console carries over what the visitor never confirmed): same text, same
 * sender clock. Within one epoch the counter tells messages apart.
 */
function carriedAgain(line: Line, epoch: number, body: string, ts: number): boolean {
  return line.who === 'them' && !line.id.startsWith(`them:${epoch}:`) && line.text === body && line.ts === ts;
}

function end(s: State, reason: EndReason): State {
  return { ...s, screen: 'ended', ended: reason, peerTyping: false, online: true };
}

/** The next state. Events that do not fit the current screen are ignored. */
export function reduce(s: State, e: Event): State {
  const inChat = s.screen === 'securing' || s.screen === 'chat';
  switch (e.type) {
    case 'status':
      return { ...s, status: e.status };
    case 'status_failed':
      return { ...s, status: 'failed' };
    case 'lang':
      return { ...s, lang: e.lang };
    case 'join':
      if (s.screen !== 'start' && s.screen !== 'problem') return s;
      if (s.status !== undefined && s.status !== 'failed' && !s.status.open) return { ...s, screen: 'problem', problem: { kind: 'closed' } };
      {
        const { problem: _p, announce: _a, ...rest } = s;
        void _p; void _a;
        return { ...rest, screen: 'joining', queue: e.queue };
      }
    case 'queued': {
      if (s.screen === 'ended' || s.screen === 'start' || s.screen === 'problem') return s;
      const etaMin = etaMinutes(e.etaS);
      const requeued = inChat;
      const next: State = { ...s, screen: 'queued', position: e.position, etaMin, online: true, peerTyping: false };
      return requeued ? note(next, 'requeued') : { ...next, announce: { key: 'queuePosition', vars: { position: e.position } } };
    }
    case 'assigned':
      if (s.screen === 'ended' || s.screen === 'start' || s.screen === 'problem') return s;
      return s.screen === 'chat' ? s : { ...s, screen: 'securing', peerTyping: false };
    case 'secured': {
      if (s.screen !== 'securing' && s.screen !== 'chat' && s.screen !== 'queued' && s.screen !== 'joining') return s;
      const next: State = { ...s, screen: 'chat', alias: e.alias, safetyCode: e.safetyCode, epoch: s.epoch + 1, peerTyping: false, online: true };
      return s.epoch > 0 ? note(next, 'renewed', { code: e.safetyCode }) : { ...next, announce: { key: 'talkingWith', vars: { alias: e.alias } } };
    }
    case 'sent': {
      if (!inChat) return s;
      const id = `me:${s.epoch}:${e.n}`;
      if (s.lines.some((l) => l.id === id)) return s;
      return { ...s, lines: [...s.lines, { id, who: 'me', text: e.body, ts: e.ts, state: e.delivered ? 'sent' : 'pending' }] };
    }
    case 'delivered':
      return inChat ? markMine(s, e.upto, 'sent') : s;
    case 'read':
      return inChat ? markMine(s, e.upto, 'read') : s;
    case 'received': {
      if (!inChat) return s;
      const id = `them:${s.epoch}:${e.n}`;
      if (s.lines.some((l) => l.id === id || carriedAgain(l, s.epoch, e.body, e.ts))) return s;
      return { ...s, peerTyping: false, lines: [...s.lines, { id, who: 'them', text: e.body, ts: e.ts }] };
    }
    case 'referral_offer': {
      if (!inChat) return s;
      const id = `them:${s.epoch}:${e.n}`;
      if (s.lines.some((l) => l.id === id)) return s;
      const line: Line = { id, who: 'offer', text: '', ts: 0, offer: e.offer };
      return { ...s, peerTyping: false, lines: [...s.lines, line], announce: { key: 'referralOfferAnnounce', vars: { office: e.offer.officeName } } };
    }
    case 'referral_answered': {
      if (!inChat) return s;
      let changed = false;
      const lines = s.lines.map((l) => {
        const next = l.id === e.id && l.offer !== undefined ? answered(l.offer, e.answer) : undefined;
        if (next === undefined) return l;
        changed = true;
        return { ...l, offer: next };
      });
      return changed ? { ...s, lines } : s;
    }
    case 'referral_code': {
      if (!inChat) return s;
      const id = `them:${s.epoch}:${e.n}`;
      if (s.lines.some((l) => l.id === id)) return s;
      return { ...s, peerTyping: false, lines: [...s.lines, { id, who: 'code', text: '', ts: 0, code: e.code }] };
    }
    case 'peer_typing':
      return inChat ? { ...s, peerTyping: e.on } : s;
    case 'note':
      return inChat ? note(s, e.key) : s;
    case 'connection_lost':
      return s.screen === 'ended' || s.screen === 'problem' || s.screen === 'start' || !s.online
        ? s : { ...s, online: false, peerTyping: false, announce: { key: 'reconnecting' } };
    case 'reconnected':
      return s.online ? s : { ...s, online: true, announce: { key: 'reconnected' } };
    case 'ended':
      return s.screen === 'ended' || s.screen === 'start' || s.screen === 'problem' ? s : end(s, e.reason);
    case 'error': {
      if (e.code === 'resume_expired') return inChat || s.screen === 'queued' ? end(s, 'resume_expired') : s;
      if (e.code === 'crypto_failed') return end(s, 'crypto_failed');
      const kind = JOIN_PROBLEMS[e.code];
      if (kind === undefined || (s.screen !== 'joining' && s.screen !== 'queued')) return s;
      // `connection_lost` is the client's own code: it gave up reaching the relay before a chat began.
      const problem: Problem = kind === 'rate_limited' ? { kind, retryAfterS: e.retryAfterS ?? 60 } : { kind } as Problem;
      return { ...s, screen: 'problem', problem, online: true };
    }
    case 'restart': {
      const fresh = initialState(s.lang);
      return { ...fresh, status: s.status };
    }
  }
}
