/**
 * Offers: a visitor the relay proposes to this counsellor, with the seconds left to accept.
 * Pure: the countdown is computed from the time the offer arrived and the clock passed in.
 */

/** An open offer. */
export interface Offer {
  readonly conv: string;
  readonly queue: string;
  /** How long the visitor had waited when the offer was made. */
  readonly waitedS: number;
  /** When the relay withdraws it (console clock, milliseconds). */
  readonly expiresAtMs: number;
}

/** An offer from its frame, received at `nowMs`. */
export function offerFromFrame(f: { readonly conv: string; readonly queue: string; readonly waited_s: number; readonly expires_s: number }, nowMs: number): Offer {
  return { conv: f.conv, queue: f.queue, waitedS: f.waited_s, expiresAtMs: nowMs + f.expires_s * 1000 };
}

/** Whole seconds left to accept, rounded up; 0 once expired. */
export function secondsLeft(o: Offer, nowMs: number): number {
  return Math.max(0, Math.ceil((o.expiresAtMs - nowMs) / 1000));
}

/** Offers still open at `nowMs` (the relay's `ended` is authoritative; this only hides stale ones). */
export function openOffers(offers: readonly Offer[], nowMs: number): readonly Offer[] {
  const open = offers.filter((o) => secondsLeft(o, nowMs) > 0);
  return open.length === offers.length ? offers : open;
}

/** "1:05" for 65 seconds: how the countdown and waiting times are shown. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
