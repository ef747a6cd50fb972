/**
 * The supervisor's own two-step login (TOTP, RFC 6238): ask the server for a secret, show it
 * and its otpauth URI as text to type or paste into an authenticator app, and confirm with
 * a current code. The secret stays on the page only until confirmed or left.
 */

import { button, h } from '../widget/dom.js';
import { ApiError, type StaffApi } from '../staff/api.js';
import { plainError } from '../staff/messages.js';

/** A base32 secret in groups of four, easier to type. */
export function groupSecret(secret: string): string {
  return secret.replace(/=+$/, '').replace(/(.{4})(?=.)/g, '$1 ');
}

/** The two-step login view. */
export class TotpView {
  readonly root: HTMLElement;
  private readonly body = h('div', {});

  constructor(private readonly api: StaffApi, private readonly onSessionEnded: () => void) {
    this.root = h('section', { class: 'card narrow', 'aria-labelledby': 'totp-title' }, h('h2', { id: 'totp-title' }, 'Your two-step login'), this.body);
  }

  /** Shows the current state. */
  show(enabled: boolean): void {
    this.body.replaceChildren(enabled
      ? h('p', {}, 'Two-step login is on: each login asks for a code from your authenticator app. If you lose the app, another supervisor can reset it.')
      : h('div', {},
        h('p', {}, 'Two-step login is off. With it on, a stolen password alone cannot open this dashboard.'),
        h('div', { class: 'actions' }, button('Set up two-step login', () => void this.start(), { class: 'primary' }))));
  }

  private async start(): Promise<void> {
    try {
      const setup = await this.api.totpSetup();
      this.confirmStep(setup.secret, setup.uri);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'unauthorized') return this.onSessionEnded();
      this.body.append(h('p', { class: 'form-error', role: 'alert' }, plainError(e, 'start two-step login')));
    }
  }

  private confirmStep(secret: string, uri: string): void {
    const code = h('input', { id: 'totp-code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6', required: true });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Turn on');
    const form = h('form', { novalidate: true },
      h('div', { class: 'field' }, h('label', { for: 'totp-code' }, 'Code the app shows now'), code), error,
      h('div', { class: 'actions' }, submit, button('Cancel', () => this.show(false))));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const value = code.value.replace(/\s+/g, '');
      if (!/^[0-9]{6}$/.test(value)) {
        error.textContent = 'Enter the six digits the app shows.';
        return code.focus();
      }
      submit.disabled = true;
      this.api.totpConfirm(value).then(() => {
        this.show(true);
        this.body.prepend(h('p', { class: 'notice', role: 'status' }, 'Two-step login is on. From your next login you will be asked for a code.'));
      }, (e: unknown) => {
        submit.disabled = false;
        if (e instanceof ApiError && e.code === 'unauthorized') return this.onSessionEnded();
        error.textContent = e instanceof ApiError && e.code === 'bad_frame' ? 'That code was not right. Check the time on your phone and enter the current code.' : plainError(e, 'turn on two-step login');
        code.select();
        code.focus();
      });
    });
    this.body.replaceChildren(
      h('ol', { class: 'steps' },
        h('li', {}, 'In your authenticator app, add an account by entering this key (time-based, 6 digits):',
          h('p', {}, h('code', { class: 'secret', id: 'totp-secret' }, groupSecret(secret)))),
        h('li', {}, 'Or paste this address into an app that accepts one:', h('p', {}, h('code', { id: 'totp-uri' }, uri))),
        h('li', {}, 'Enter the code the app shows to turn two-step login on.')),
      form);
    code.focus();
  }
}
