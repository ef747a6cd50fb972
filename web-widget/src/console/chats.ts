/**
 * The counsellor's live chats, as a pure store: each conversation's lines (kept in memory
 * only, never stored), unread count, typing and read state, session epoch and safety code.
 * The connection turns frames into {@link ChatEvent}s; the view draws {@link Chat}s.
 */

/** One line of a chat: a message either way, or a note from the console itself. */
export interface ChatLine {
  /** Unique and stable: `me:<epoch>:<n>`, `them:<epoch>:<n>` or `note:<i>`. */
  readonly id: string;
  readonly who: 'me' | 'them' | 'note';
  readonly text: string;
  /** Unix seconds (the sender's clock for messages, the console's for notes). */
  readonly ts: number;
  /** For the counsellor's own messages: read by the visitor yet? */
  readonly state?: 'sent' | 'read';
  /** For notes: which one; `text` then holds its value (a safety code, a reason) or is empty. */
  readonly note?: NoteKind;
}

/** Where a chat stands. */
export type ChatPhase = 'securing' | 'secure' | 'ended';

/** Notes the console adds to a chat (drawn in the counsellor's language by the view). */
export type NoteKind =
  | 'secured' | 'renewed' | 'renewed_after_reload' | 'visitor_away' | 'visitor_back' | 'ended'
  | 'crypto_failed' | 'transferred' | 'link_lost' | `referral_${ReferralStep}`;

/** Where a chat's brobygger referral stands (see `referral-flow.ts`). */
export type ReferralStep =
  | 'offered' | 'not_this_offer' | 'declined' | 'sealing' | 'sent' | 'code_pending' | 'stored' | 'refused' | 'cancelled';

/** A referral's step as the counsellor sees it. */
export interface ReferralStatus {
  readonly step: ReferralStep;
  readonly officeName: string;
  /** `stored`, `code_pending`: the code; `refused`: the relay's or the console's reason. */
  readonly detail?: string;
}

export interface Chat {
  readonly conv: string;
  /** The queue the visitor came from (`da/exit`); empty when unknown (a chat reclaimed after a reload). */
  readonly queue: string;
  /** Handshakes completed in this console: 1 after the first, 2 after a renewal, … */
  readonly epoch: number;
  readonly phase: ChatPhase;
  /** The six-digit code of the current epoch, once the visitor's `hello` decrypted. */
  readonly safetyCode?: string;
  readonly lines: readonly ChatLine[];
  /** Visitor messages not yet seen by the counsellor. */
  readonly unread: number;
  readonly peerTyping: boolean;
  /** The visitor's connection dropped; the relay keeps the chat for them. */
  readonly visitorAway: boolean;
  /** Set when the chat ended: the relay's reason slug. */
  readonly endedReason?: string;
  /** Highest visitor counter shown in this epoch (-1: none). */
  readonly lastReceived: number;
  /** The latest referral of this chat, if any. */
  readonly referral?: ReferralStatus;
}

/** Everything that can happen to chats. */
export type ChatEvent =
  | { readonly type: 'chat_accepted'; readonly conv: string; readonly queue: string }
  | { readonly type: 'chat_resumed'; readonly conv: string; readonly nowS: number }
  | { readonly type: 'chat_handshake'; readonly conv: string }
  | { readonly type: 'chat_secured'; readonly conv: string; readonly safetyCode: string; readonly nowS: number }
  | { readonly type: 'chat_received'; readonly conv: string; readonly n: number; readonly body: string; readonly ts: number; readonly seen: boolean }
  | { readonly type: 'chat_sent'; readonly conv: string; readonly n: number; readonly body: string; readonly ts: number }
  | { readonly type: 'chat_peer_read'; readonly conv: string; readonly upto: number }
  | { readonly type: 'chat_peer_typing'; readonly conv: string; readonly on: boolean }
  | { readonly type: 'chat_peer'; readonly conv: string; readonly away: boolean; readonly nowS: number }
  | { readonly type: 'chat_ended'; readonly conv: string; readonly reason: string; readonly nowS: number }
  | { readonly type: 'chat_seen'; readonly conv: string }
  | { readonly type: 'chat_closed'; readonly conv: string }
  | { readonly type: 'chat_referral'; readonly conv: string; readonly status: ReferralStatus; readonly nowS: number }
  | { readonly type: 'chats_link_lost'; readonly nowS: number };

/** A fresh chat waiting for the visitor's handshake. */
export function newChat(conv: string, queue: string): Chat {
  return { conv, queue, epoch: 0, phase: 'securing', lines: [], unread: 0, peerTyping: false, visitorAway: false, lastReceived: -1 };
}

function note(c: Chat, kind: NoteKind, nowS: number, value = ''): Chat {
  const line: ChatLine = { id: `note:${c.lines.length}`, who: 'note', text: value, ts: nowS, note: kind };
  return { ...c, lines: [...c.lines, line] };
}

function markRead(c: Chat, upto: number): Chat {
  const prefix = `me:${c.epoch}:`;
  let changed = false;
  const lines = c.lines.map((l) => {
    if (l.who !== 'me' || l.state === 'read' || !l.id.startsWith(prefix) || Number(l.id.slice(prefix.length)) > upto) return l;
    changed = true;
    return { ...l, state: 'read' as const };
  });
  return changed ? { ...c, lines } : c;
}

/** The next state of one chat; `undefined` removes it. */
function reduceChat(c: Chat | undefined, e: ChatEvent): Chat | undefined {
  if (e.type === 'chat_accepted') {
    if (c === undefined) return newChat(e.conv, e.queue);
    if (c.phase !== 'ended') return c;
    // The same visitor back (transferred back to this counsellor): the transcript so far stays.
    const { endedReason: _r, ...rest } = c;
    void _r;
    return { ...rest, queue: e.queue, phase: 'securing', visitorAway: false, peerTyping: false };
  }
  if (e.type === 'chat_resumed') {
    // Known: this console reconnected. Unknown: the page was reloaded and its transcript is gone.
    if (c === undefined) return note({ ...newChat(e.conv, ''), phase: 'securing' }, 'renewed_after_reload', e.nowS);
    return c.phase === 'ended' ? c : { ...c, phase: 'securing', peerTyping: false, visitorAway: false, lastReceived: -1 };
  }
  if (c === undefined) return undefined;
  switch (e.type) {
    case 'chat_handshake':
      return c.phase === 'ended' ? c : { ...c, phase: 'securing', peerTyping: false, lastReceived: -1 };
    case 'chat_secured': {
      if (c.phase === 'ended') return c;
      const next: Chat = { ...c, phase: 'secure', epoch: c.epoch + 1, safetyCode: e.safetyCode, visitorAway: false };
      const renewal = c.epoch > 0 || c.lines.some((l) => l.note === 'renewed_after_reload');
      return note(next, renewal ? 'renewed' : 'secured', e.nowS, e.safetyCode);
    }
    case 'chat_received': {
      const id = `them:${c.epoch}:${e.n}`;
      if (c.phase !== 'secure' || c.lines.some((l) => l.id === id)) return c;
      const line: ChatLine = { id, who: 'them', text: e.body, ts: e.ts };
      return { ...c, lines: [...c.lines, line], unread: e.seen ? 0 : c.unread + 1, peerTyping: false, lastReceived: e.n };
    }
    case 'chat_sent': {
      const id = `me:${c.epoch}:${e.n}`;
      if (c.phase !== 'secure' || c.lines.some((l) => l.id === id)) return c;
      return { ...c, lines: [...c.lines, { id, who: 'me', text: e.body, ts: e.ts, state: 'sent' }] };
    }
    case 'chat_peer_read':
      return c.phase === 'secure' ? markRead(c, e.upto) : c;
    case 'chat_peer_typing':
      return c.phase === 'secure' ? { ...c, peerTyping: e.on } : c;
    case 'chat_peer':
      if (c.phase === 'ended' || c.visitorAway === e.away) return c;
      return note({ ...c, visitorAway: e.away, peerTyping: false }, e.away ? 'visitor_away' : 'visitor_back', e.nowS);
    case 'chat_ended': {
      if (c.phase === 'ended') return c;
      const kind: NoteKind = e.reason === 'crypto_failed' ? 'crypto_failed' : e.reason === 'transferred' ? 'transferred' : 'ended';
      return note({ ...c, phase: 'ended', endedReason: e.reason, peerTyping: false }, kind, e.nowS, e.reason);
    }
    case 'chat_seen':
      return c.unread === 0 ? c : { ...c, unread: 0 };
    case 'chat_closed':
      return undefined;
    case 'chat_referral': {
      // The note's value: the code once stored, the reason when refused, else the office.
      const value = e.status.detail ?? e.status.officeName;
      const next = e.status.step === 'not_this_offer' ? c : { ...c, referral: e.status };
      return note(next, `referral_${e.status.step}`, e.nowS, value);
    }
    case 'chats_link_lost':
      return c.phase === 'ended' ? c : note({ ...c, phase: 'securing', peerTyping: false }, 'link_lost', e.nowS);
  }
}

/** Applies `e` to the chat list (in the order chats began). */
export function reduceChats(chats: readonly Chat[], e: ChatEvent): readonly Chat[] {
  if (e.type === 'chats_link_lost') return chats.map((c) => reduceChat(c, e) ?? c);
  const i = chats.findIndex((c) => c.conv === e.conv);
  const next = reduceChat(chats[i], e);
  if (i < 0) return next === undefined ? chats : [...chats, next];
  if (next === undefined) return chats.filter((_, j) => j !== i);
  return next === chats[i] ? chats : chats.map((c, j) => (j === i ? next : c));
}

/** Chats that still hold the counsellor (not yet closed with tags). */
export function liveCount(chats: readonly Chat[]): number {
  return chats.filter((c) => c.phase !== 'ended').length;
}
