/**
 * The staff login form used by the shift console and the supervisor dashboard: username and
 * password, then — when the server answers `totp_required` — a second step for the six-digit
 * code, sent together with the same username and password. Errors are shown in plain words
 * in an alert region and focus goes to the field to correct. No HTML strings.
 */

import { h } from '../widget/dom.js';
import { ApiError, type LoggedIn, type StaffApi } from './api.js';
import { inWords, plainError } from './messages.js';

/** What the page passes in. */
export interface LoginOptions {
  readonly api: StaffApi;
  /** The page's heading, e.g. "Supervisor dashboard". */
  readonly title: string;
  /** A line under the heading. */
  readonly intro?: string;
  /** Called once, after a successful login. */
  readonly onLoggedIn: (who: LoggedIn) => void;
}

/** What the form says for a refused login. */
export function loginErrorText(e: unknown, askedForCode: boolean): string {
  if (e instanceof ApiError) {
    if (e.totpRequired === true) return askedForCode ? 'That code was not right. Enter the current code from your authenticator app.' : '';
    if (e.code === 'unauthorized') return 'Wrong username or password.';
    if (e.code === 'rate_limited') {
      return e.retryAfterS !== undefined ? `Too many login attempts. Try again in ${inWords(Math.max(1, e.retryAfterS))}.` : 'Too many login attempts. Wait a little and try again.';
    }
  }
  return plainError(e, 'log in');
}

/** Builds the login screen; returns its root `<main>`. The username field has focus once attached. */
export function loginForm(opts: LoginOptions): HTMLElement {
  const user = h('input', { id: 'login-username', name: 'username', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const code = h('input', {
    id: 'login-totp', name: 'totp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
    pattern: '[0-9]{6}', maxlength: '6', 'aria-describedby': 'login-totp-hint',
  });
  const error = h('p', { class: 'form-error', role: 'alert', id: 'login-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const back = h('button', { type: 'button' }, 'Back');

  const credentials = h('div', {},
    h('div', { class: 'field' }, h('label', { for: 'login-username' }, 'Username'), user),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), pass));
  const totpStep = h('div', { hidden: true },
    h('div', { class: 'field' },
      h('label', { for: 'login-totp' }, 'Code from your authenticator app'), code,
      h('p', { class: 'muted', id: 'login-totp-hint' }, 'Six digits. This account uses two-step login.')));
  const form = h('form', { class: 'login', 'aria-labelledby': 'login-title', novalidate: true },
    credentials, totpStep, error, h('div', { class: 'actions' }, submit, back));
  back.hidden = true;

  let askingForCode = false;
  const showCodeStep = (on: boolean): void => {
    askingForCode = on;
    credentials.hidden = on;
    totpStep.hidden = !on;
    back.hidden = !on;
    code.required = on;
    code.value = '';
    (on ? code : pass).focus();
  };
  const fail = (message: string, field: HTMLInputElement): void => {
    error.textContent = message;
    field.setAttribute('aria-invalid', 'true');
    field.focus();
    field.select();
  };

  back.addEventListener('click', () => {
    error.textContent = '';
    showCodeStep(false);
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    for (const f of [user, pass, code]) f.removeAttribute('aria-invalid');
    error.textContent = '';
    const username = user.value.trim();
    if (username === '' || pass.value === '') return fail('Enter your username and password.', username === '' ? user : pass);
    const totp = askingForCode ? code.value.trim() : undefined;
    if (totp !== undefined && !/^[0-9]{6}$/.test(totp)) return fail('Enter the six digits from your authenticator app.', code);
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    opts.api.login(username, pass.value, totp).then((who) => {
      pass.value = '';
      code.value = '';
      opts.onLoggedIn(who);
    }, (e: unknown) => {
      submit.disabled = false;
      submit.textContent = 'Log in';
      if (e instanceof ApiError && e.totpRequired === true && !askingForCode) return showCodeStep(true);
      fail(loginErrorText(e, askingForCode), askingForCode && e instanceof ApiError && e.totpRequired === true ? code : pass);
    });
  });

  const main = h('main', { class: 'login-screen' },
    h('h1', { id: 'login-title', tabindex: '-1' }, opts.title),
    opts.intro !== undefined && h('p', { class: 'muted' }, opts.intro),
    form);
  queueMicrotask(() => user.focus());
  return main;
}
