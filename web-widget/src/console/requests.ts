/**
 * What the console asked of the relay whose answer comes later and names no request:
 * logged phone calls (`call_log`, answered at once and in order with `call_logged` or an
 * error) and brobygger referrals (`referral-flow.ts`, answered with `referral_stored` or an
 * error). A relay error is matched to a waiting call log first (its answer is immediate),
 * then to a referral awaiting its code; anything else is the caller's to show.
 */

import type { CallLog } from './calllog.js';
import { ReferralFlow } from './referral-flow.js';
import type { FlowDeps } from './referral-flow.js';

export class PendingRequests {
  readonly referrals: ReferralFlow;
  /** Keys of logged calls awaiting the relay's answer, in the order sent. */
  private calls: number[] = [];

  constructor(private readonly deps: FlowDeps) {
    this.referrals = new ReferralFlow(deps);
  }

  /** Sends a call log; `call_result` with `key` follows. False when the relay cannot be reached now. */
  logCall(key: number, log: CallLog): boolean {
    if (!this.deps.sendFrame({ t: 'call_log', ...log })) return false;
    this.calls.push(key);
    return true;
  }

  /** `call_logged`: the oldest waiting call was counted. */
  onCallLogged(): void {
    const key = this.calls.shift();
    if (key !== undefined) this.deps.dispatch({ type: 'call_result', key, ok: true });
  }

  /** A relay error: true when it was the answer to a waiting call log or referral. */
  onError(code: string, message: string): boolean {
    const call = code === 'bad_frame' || code === 'rate_limited' ? this.calls.shift() : undefined;
    if (call !== undefined) {
      this.deps.dispatch({ type: 'call_result', key: call, ok: false, detail: `${code}: ${message}` });
      return true;
    }
    return this.referrals.onError(code, message);
  }

  /** The connection dropped: calls and referrals without an answer may or may not have been counted or stored. */
  onDrop(): void {
    for (const key of this.calls) this.deps.dispatch({ type: 'call_result', key, ok: false, detail: 'unconfirmed' });
    this.calls = [];
    this.referrals.onDrop();
  }

  /** Forgets everything (log out, end of shift). */
  clear(): void {
    this.calls = [];
    this.referrals.clear();
  }
}
