/**
 * The supervisor dashboard's entry point (`dist/dashboard.js`): login (the shared staff form),
 * then the live figures, staff accounts and the supervisor's own two-step login. The server
 * decides who is a supervisor: a counsellor's session gets 403 and is told so.
 */

import { button, h } from '../widget/dom.js';
import { parseStatus } from '../widget/status.js';
import { ApiError, type Me, StaffApi } from '../staff/api.js';
import { loginForm } from '../staff/login.js';
import { plainError } from '../staff/messages.js';
import type { Snapshot } from '../staff/snapshot.js';
import { AccountsView } from './accounts.js';
import { LiveView } from './figures.js';
import { formatClock } from './format.js';
import { type FeedStatus, LiveFeed } from './live.js';
import { TotpView } from './totp.js';

const api = new StaffApi();
let feed: LiveFeed | undefined;

/** Replaces the page's content and moves focus to its first heading. */
function screen(...children: HTMLElement[]): void {
  feed?.stop();
  feed = undefined;
  document.body.replaceChildren(...children);
  const heading = document.querySelector<HTMLElement>('h1');
  if (heading !== null && document.querySelector('#login-username') === null) heading.focus();
}

function showLogin(message?: string): void {
  document.title = 'Log in · lyt dashboard';
  const main = loginForm({ api, title: 'Supervisor dashboard', intro: 'Log in with your lyt staff account.', onLoggedIn: () => void boot() });
  if (message !== undefined) main.querySelector('form')?.before(h('p', { class: 'notice', role: 'status' }, message));
  screen(main);
}

async function logout(): Promise<void> {
  try {
    await api.logout();
  } catch {
    // The cookie may already be gone; the login screen follows either way.
  }
  showLogin('You are logged out.');
}

function showNotForYou(me: Pick<Me, 'alias' | 'role'> | undefined): void {
  document.title = 'Supervisors only · lyt';
  screen(h('main', { class: 'login-screen' },
    h('h1', { tabindex: '-1' }, 'This page is for supervisors'),
    h('p', {}, me === undefined ? 'Your account may not see the dashboard.' : `You are logged in as ${me.alias}, a ${me.role}. The server does not let this account see the dashboard.`),
    h('p', {}, 'Counsellors work in the ', h('a', { href: '/console/' }, 'shift console'), '.'),
    h('div', { class: 'actions' }, button('Log out', () => void logout(), { class: 'primary' }))));
}

function showProblem(e: unknown): void {
  document.title = 'lyt dashboard';
  screen(h('main', { class: 'login-screen' },
    h('h1', { tabindex: '-1' }, 'The dashboard cannot start'),
    h('p', { role: 'alert' }, plainError(e, 'load the dashboard')),
    h('div', { class: 'actions' }, button('Try again', () => void boot(), { class: 'primary' }))));
}

/** Queue display names from the public status (the snapshot has only ids). */
async function queueNames(): Promise<Map<string, string>> {
  try {
    const res = await fetch('/v1/status', { cache: 'no-store', credentials: 'omit' });
    const status = res.ok ? parseStatus(await res.json()) : undefined;
    return new Map((status?.queues ?? []).map((q) => {
      const lang = q.id.split('/')[0] ?? '';
      return [q.id, `${q.names['en'] ?? q.names[lang] ?? q.id} (${lang})`];
    }));
  } catch {
    return new Map();
  }
}

/** The running dashboard. */
function showApp(me: Me, first: Snapshot, names: Map<string, string>): void {
  document.title = 'Dashboard · lyt';
  const ended = (): void => showLogin('Your session has ended. Log in again.');
  const live = new LiveView((id) => names.get(id) ?? id);
  const accounts = new AccountsView(api, ended);
  const totp = new TotpView(api, ended);
  totp.show(me.totpEnabled);

  const feedState = h('span', { class: 'feed', role: 'status' });
  const updated = h('span', { class: 'updated' });
  const title = h('h1', { tabindex: '-1' }, 'Live');
  const panel = h('div', {});
  const tabs = [
    { id: 'live', label: 'Live', view: live.root, onShow: () => undefined },
    { id: 'accounts', label: 'Accounts', view: accounts.root, onShow: () => void accounts.refresh() },
    { id: 'totp', label: 'Two-step login', view: totp.root, onShow: () => undefined },
  ];
  const navButtons = tabs.map((t) => button(t.label, () => select(t.id, true), { 'data-tab': t.id }));
  const select = (id: string, focus: boolean): void => {
    const tab = tabs.find((t) => t.id === id) ?? tabs[0]!;
    title.textContent = tab.label;
    for (const b of navButtons) {
      if (b.dataset['tab'] === tab.id) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
    panel.replaceChildren(tab.view);
    tab.onShow();
    if (focus) title.focus();
  };

  const setFeed = (s: FeedStatus): void => {
    feedState.className = `feed ${s.kind}`;
    const text = s.kind === 'live' ? 'Live' : s.kind === 'connecting' ? 'Connecting…' : s.kind === 'reconnecting' ? 'Reconnecting…' : 'Stopped';
    if (feedState.textContent !== text) feedState.textContent = text;
    if (s.kind === 'reconnecting') updated.textContent = `next try in ${Math.ceil(s.inMs / 1000)} s`;
    if (s.kind === 'stopped') {
      if (s.error.code === 'forbidden') showNotForYou(me);
      else ended();
    }
  };
  const onSnapshot = (s: Snapshot): void => {
    live.update(s);
    updated.textContent = `updated ${formatClock(s.at)}`;
  };

  screen(
    h('header', { class: 'topbar' },
      h('span', { class: 'brand' }, 'lyt · supervisor dashboard'),
      h('span', { class: 'feed-box' }, feedState, updated),
      h('span', { class: 'who' }, h('span', {}, `${me.alias} (${me.username})`), button('Log out', () => void logout()))),
    h('nav', { class: 'tabs', 'aria-label': 'Dashboard sections' }, ...navButtons),
    h('main', { class: 'app' }, title, panel));
  onSnapshot(first);
  select('live', false);
  feed = new LiveFeed({ url: '/v1/supervisor/live', onSnapshot, onStatus: setFeed });
  feed.start();
}

/** Who is logged in decides what is shown. */
async function boot(): Promise<void> {
  let me: Me;
  try {
    me = await api.me();
  } catch (e) {
    if (e instanceof ApiError && e.code === 'unauthorized') return showLogin();
    return showProblem(e);
  }
  try {
    const [first, names] = await Promise.all([api.snapshot(), queueNames()]);
    showApp(me, first, names);
  } catch (e) {
    if (e instanceof ApiError && e.code === 'forbidden') return showNotForYou(me);
    if (e instanceof ApiError && e.code === 'unauthorized') return showLogin();
    showProblem(e);
  }
}

void boot();
