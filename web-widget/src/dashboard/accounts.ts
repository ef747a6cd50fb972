/**
 * Managing staff accounts: the list, adding an account (its generated password is shown once
 * and never kept), disabling and enabling, registering an identity certificate made with
 * `lyt cert counsellor`, and resetting two-step login. Every change reloads the list from the
 * server; the server's own message is shown when it refuses.
 */

import { button, h } from '../widget/dom.js';
import { type Account, ApiError, type Role, type StaffApi } from '../staff/api.js';
import { plainError } from '../staff/messages.js';
import { formatDate } from './format.js';

/** Usernames lyt accepts (`auth::check_username`): a lower-case letter, then letters, digits, `.`, `_`, `-`; 32 at most. */
const USERNAME = /^[a-z][a-z0-9._-]{0,31}$/;

/** What the identity column says about an account. */
export function identityText(a: Account, nowS: number): string {
  const id = a.identity;
  if (id === null) return 'No key enrolled yet';
  if (!id.cert) return `Key ${id.fingerprint}: waiting for a certificate`;
  if (id.certExpires === null) return `Key ${id.fingerprint}: certified`;
  const expired = id.certExpires <= nowS;
  return `Key ${id.fingerprint}: certificate ${expired ? 'expired' : 'valid until'} ${formatDate(id.certExpires)}`;
}

/** Base64url text as pasted: whitespace and line breaks removed. Anything else is left for the server to judge. */
export function cleanPastedCert(text: string): string {
  return text.replace(/\s+/g, '');
}

/** The accounts view. */
export class AccountsView {
  readonly root: HTMLElement;
  private readonly status = h('p', { class: 'status-line', role: 'status' });
  /** The question before an action that ends someone's sessions. */
  private readonly confirmBox = h('div', { class: 'notice warn', role: 'group', 'aria-labelledby': 'confirm-text', hidden: true });
  private readonly list = h('div', {});
  private readonly created = h('div', { class: 'notice', tabindex: '-1', hidden: true });
  private readonly certPanel = h('section', { class: 'card', 'aria-labelledby': 'cert-title', hidden: true });
  private accounts: Account[] = [];

  /** @param onSessionEnded called when the server says the session is gone (401). */
  constructor(private readonly api: StaffApi, private readonly onSessionEnded: () => void) {
    this.root = h('div', { class: 'accounts' },
      this.status,
      this.confirmBox,
      h('section', { class: 'card', 'aria-labelledby': 'accounts-title' },
        h('h2', { id: 'accounts-title' }, 'Staff accounts'), this.list),
      this.certPanel,
      this.addForm());
  }

  /** Loads the list from the server; false (and the reason shown) when it could not. */
  async refresh(): Promise<boolean> {
    try {
      this.accounts = await this.api.accounts();
      this.renderList();
      return true;
    } catch (e) {
      this.failed(e, 'load the accounts');
      return false;
    }
  }

  private failed(e: unknown, what: string): void {
    if (e instanceof ApiError && e.code === 'unauthorized') return this.onSessionEnded();
    this.say(plainError(e, what), true);
  }

  private say(text: string, problem = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('problem', problem);
  }

  private renderList(): void {
    const now = Math.floor(Date.now() / 1000);
    const rows = this.accounts.map((a) => h('tr', { class: a.disabled ? 'disabled' : undefined },
      h('th', { scope: 'row' }, a.username),
      h('td', {}, a.alias),
      h('td', {}, a.role === 'supervisor' ? 'Supervisor' : 'Counsellor'),
      h('td', {}, a.disabled ? 'Disabled' : a.onDuty ? 'Active, on duty' : 'Active'),
      h('td', {}, a.totpEnabled ? 'On' : 'Off'),
      h('td', { class: 'identity' }, identityText(a, now)),
      h('td', {}, h('div', { class: 'row-actions' },
        button(a.disabled ? 'Enable' : 'Disable', () => a.disabled ? void this.setDisabled(a, false)
          : this.confirm(`Disable ${a.username}? Their sessions end at once and they cannot log in until enabled again.`, `Yes, disable ${a.username}`, () => this.setDisabled(a, true)),
          { class: a.disabled ? undefined : 'danger', 'aria-label': `${a.disabled ? 'Enable' : 'Disable'} ${a.username}` }),
        a.identity !== null && button('Register certificate', () => this.openCert(a), { 'aria-label': `Register certificate for ${a.username}`, 'data-user': a.username }),
        button('New password', () => this.confirm(`Give ${a.username} a new password? The old one stops working and their sessions end.`,
          `Yes, new password for ${a.username}`, () => this.resetPassword(a)), { 'aria-label': `New password for ${a.username}` }),
        a.totpEnabled && button('Reset two-step login', () => this.confirm(`Reset two-step login of ${a.username}? They can then log in with the password alone until they set it up again.`,
          `Yes, reset two-step login of ${a.username}`, () => this.resetTotp(a)), { 'aria-label': `Reset two-step login of ${a.username}` })))));
    this.list.replaceChildren(this.accounts.length === 0 ? h('p', { class: 'muted' }, 'No accounts.')
      : h('table', { class: 'accounts-table' },
        h('caption', { class: 'sr-only' }, 'Staff accounts'),
        h('thead', {}, h('tr', {}, ...['Username', 'Name shown', 'Role', 'Status', 'Two-step login', 'Identity', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...rows)));
  }

  /** Asks before `run`; focus goes to the confirming button, and back to where it was on "Cancel". */
  private confirm(question: string, yes: string, run: () => Promise<void>): void {
    const from = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
    const close = (): void => {
      this.confirmBox.hidden = true;
      this.confirmBox.replaceChildren();
    };
    const ok = button(yes, () => {
      close();
      void run();
    }, { class: 'danger' });
    this.confirmBox.replaceChildren(h('p', { id: 'confirm-text' }, question),
      h('div', { class: 'actions' }, ok, button('Cancel', () => {
        close();
        from?.focus();
      })));
    this.confirmBox.hidden = false;
    ok.focus();
  }

  /**
   * Runs a change, reloads the list, then says how it went — in that order, so the message
   * never describes a list that does not show it yet.
   */
  private async act(run: () => Promise<void>, done: string, what: string): Promise<void> {
    let outcome: { text: string; problem: boolean };
    try {
      await run();
      outcome = { text: done, problem: false };
    } catch (e) {
      if (e instanceof ApiError && e.code === 'unauthorized') return this.onSessionEnded();
      outcome = { text: plainError(e, what), problem: true };
    }
    if (await this.refresh()) this.say(outcome.text, outcome.problem);
  }

  private async setDisabled(a: Account, disabled: boolean): Promise<void> {
    await this.act(() => this.api.setDisabled(a.username, disabled),
      disabled ? `${a.username} is disabled: their sessions have ended and they cannot log in.` : `${a.username} is enabled again.`,
      disabled ? `disable ${a.username}` : `enable ${a.username}`);
    this.list.querySelector<HTMLButtonElement>(`button[aria-label$=" ${CSS.escape(a.username)}"]`)?.focus();
  }

  private async resetTotp(a: Account): Promise<void> {
    await this.act(() => this.api.resetTotp(a.username),
      `Two-step login of ${a.username} is reset: they log in with their password and can set it up again.`,
      `reset two-step login of ${a.username}`);
  }

  private async resetPassword(a: Account): Promise<void> {
    try {
      const made = await this.api.resetPassword(a.username);
      this.say(`${a.username} has a new password; the old one no longer works.`);
      this.showCreated(made.username, made.password, 'New password for');
    } catch (e) {
      this.failed(e, `give ${a.username} a new password`);
    }
  }

  private openCert(a: Account): void {
    const field = h('textarea', { id: 'cert-text', rows: '4', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'cert-hint' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const close = (): void => {
      this.certPanel.hidden = true;
      this.certPanel.replaceChildren();
      this.list.querySelector<HTMLButtonElement>(`button[data-user="${CSS.escape(a.username)}"]`)?.focus();
    };
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Register');
    const form = h('form', { novalidate: true },
      h('div', { class: 'field' }, h('label', { for: 'cert-text' }, 'Certificate (base64)'), field),
      h('p', { class: 'muted', id: 'cert-hint' },
        `Paste the output of `, h('code', {}, `lyt cert counsellor`), ` for ${a.username}. It must be signed by the organisation root and match the key `,
        h('code', {}, a.identity?.fingerprint ?? ''), '.'),
      error,
      h('div', { class: 'actions' }, submit, button('Cancel', close)));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const cert = cleanPastedCert(field.value);
      if (cert === '') {
        error.textContent = 'Paste the certificate first.';
        return field.focus();
      }
      submit.disabled = true;
      this.api.registerCert(a.username, cert).then(async () => {
        close();
        this.say(`The certificate of ${a.username} is registered.`);
        await this.refresh();
      }, (e: unknown) => {
        submit.disabled = false;
        if (e instanceof ApiError && e.code === 'unauthorized') return this.onSessionEnded();
        error.textContent = e instanceof ApiError && e.code === 'bad_frame' ? `The server refused it: ${e.message}.` : plainError(e, 'register the certificate');
        field.setAttribute('aria-invalid', 'true');
        field.focus();
      });
    });
    this.certPanel.replaceChildren(h('h2', { id: 'cert-title' }, `Register a certificate for ${a.username}`), form);
    this.certPanel.hidden = false;
    field.focus();
  }

  private addForm(): HTMLElement {
    const user = h('input', { id: 'new-username', type: 'text', required: true, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'new-username-hint' });
    const alias = h('input', { id: 'new-alias', type: 'text', required: true, autocomplete: 'off', 'aria-describedby': 'new-alias-hint' });
    const role = h('select', { id: 'new-role' }, h('option', { value: 'counsellor' }, 'Counsellor'), h('option', { value: 'supervisor' }, 'Supervisor'));
    const error = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Add account');
    const form = h('form', { class: 'add-account', novalidate: true },
      h('div', { class: 'row' },
        h('div', { class: 'field' }, h('label', { for: 'new-username' }, 'Username'), user,
          h('span', { class: 'muted', id: 'new-username-hint' }, 'Lower-case letters, digits, . _ - (starts with a letter)')),
        h('div', { class: 'field' }, h('label', { for: 'new-alias' }, 'Name shown to visitors'), alias,
          h('span', { class: 'muted', id: 'new-alias-hint' }, 'A first name or alias')),
        h('div', { class: 'field' }, h('label', { for: 'new-role' }, 'Role'), role)),
      error, h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      error.textContent = '';
      const username = user.value.trim();
      const shown = alias.value.trim();
      const problem = !USERNAME.test(username) ? 'Choose a username that starts with a lower-case letter and has only lower-case letters, digits, dots, dashes or underscores (32 at most).'
        : shown === '' ? 'Enter the name visitors will see.' : undefined;
      if (problem !== undefined) {
        error.textContent = problem;
        (shown === '' && USERNAME.test(username) ? alias : user).focus();
        return;
      }
      submit.disabled = true;
      const r: Role = role.value === 'supervisor' ? 'supervisor' : 'counsellor';
      this.api.createAccount({ username, alias: shown, role: r }).then(async (made) => {
        submit.disabled = false;
        form.reset();
        this.showCreated(made.username, made.password);
        await this.refresh();
      }, (e: unknown) => {
        submit.disabled = false;
        if (e instanceof ApiError && e.code === 'unauthorized') return this.onSessionEnded();
        error.textContent = e instanceof ApiError && (e.code === 'conflict' || e.code === 'bad_frame') ? `The server refused it: ${e.message}.` : plainError(e, 'add the account');
        user.focus();
      });
    });
    return h('section', { class: 'card', 'aria-labelledby': 'add-title' }, h('h2', { id: 'add-title' }, 'Add an account'), this.created, form);
  }

  /** Shows a generated password once; "Done" removes it from the page. */
  private showCreated(username: string, password: string, heading = 'Account'): void {
    const done = button('Done, I have passed it on', () => {
      this.created.hidden = true;
      this.created.replaceChildren();
      document.getElementById('new-username')?.focus();
    });
    this.created.replaceChildren(
      h('p', {}, h('strong', {}, heading === 'Account' ? `Account ${username} created.` : `${heading} ${username}.`), ' The password is shown only now:'),
      h('p', {}, h('code', { class: 'secret', id: 'new-password' }, password)),
      h('p', { class: 'muted' }, 'Give it to them in person or by phone, never by e-mail or chat. They should set up two-step login when they first log in.'),
      h('div', { class: 'actions' }, done));
    this.created.hidden = false;
    this.created.focus();
  }
}
