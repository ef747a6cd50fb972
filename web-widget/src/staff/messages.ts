/** Plain English for what went wrong, as a member of staff would want to read it. */

import { ApiError } from './api.js';

/** Seconds as "40 seconds" / "3 minutes". */
export function inWords(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const min = Math.ceil(seconds / 60);
  return `${min} minute${min === 1 ? '' : 's'}`;
}

/** What to tell the user about a failed request; `context` says what was being done ("log in"). */
export function plainError(e: unknown, context = 'do that'): string {
  if (!(e instanceof ApiError)) return `Could not ${context}: something unexpected went wrong. Reload the page and try again.`;
  switch (e.code) {
    case 'network': return 'Cannot reach the server. Check the connection and try again.';
    case 'rate_limited':
      return e.retryAfterS !== undefined ? `Too many attempts. Try again in ${inWords(Math.max(1, e.retryAfterS))}.` : 'Too many attempts. Wait a little and try again.';
    case 'unauthorized': return 'Your session has ended. Log in again.';
    case 'forbidden': return `Your account may not ${context}.`;
    case 'bad_response': return `Could not ${context}: the server's answer was not understood (${e.message}).`;
    default: return `Could not ${context}: ${e.message}.`;
  }
}
