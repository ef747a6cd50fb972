/** What the staff pages say when a request fails: plain words, with the wait when rate limited. */

import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/staff/api.js';
import { loginErrorText } from '../src/staff/login.js';
import { inWords, plainError } from '../src/staff/messages.js';

const err = (status: number, code: ApiError['code'], extra: { retryAfterS?: number; totpRequired?: boolean } = {}): ApiError =>
  new ApiError({ status, code, message: 'server words', ...extra });

describe('login errors', () => {
  /** A wrong password, an unknown user and a disabled account read the same. */
  it('says wrong username or password for 401', () => {
    expect(loginErrorText(err(401, 'unauthorized'), false)).toBe('Wrong username or password.');
  });

  /** A wrong second-step code is named as such. */
  it('says the code was wrong in the code step', () => {
    expect(loginErrorText(err(401, 'unauthorized', { totpRequired: true }), true)).toMatch(/code was not right/);
  });

  /** 429 tells how long to wait. */
  it('gives the wait for 429', () => {
    expect(loginErrorText(err(429, 'rate_limited', { retryAfterS: 90 }), false)).toBe('Too many login attempts. Try again in 2 minutes.');
    expect(loginErrorText(err(429, 'rate_limited', { retryAfterS: 0 }), false)).toBe('Too many login attempts. Try again in 1 second.');
    expect(loginErrorText(err(429, 'rate_limited'), false)).toMatch(/Wait a little/);
  });

  /** No network is not a wrong password. */
  it('says when the server cannot be reached', () => {
    expect(loginErrorText(err(0, 'network'), false)).toMatch(/Cannot reach the server/);
    expect(loginErrorText(new Error('x'), false)).toMatch(/unexpected/);
  });
});

describe('plain errors', () => {
  /** Each kind of failure in words, with the server's message where it helps. */
  it('describes failures', () => {
    expect(plainError(err(403, 'forbidden'), 'see the dashboard')).toBe('Your account may not see the dashboard.');
    expect(plainError(err(401, 'unauthorized'))).toMatch(/Log in again/);
    expect(plainError(err(400, 'bad_frame'), 'register the certificate')).toBe('Could not register the certificate: server words.');
    expect(inWords(45)).toBe('45 seconds');
    expect(inWords(60)).toBe('1 minute');
  });
});
