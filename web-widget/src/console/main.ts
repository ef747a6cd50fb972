/**
 * The shift console's entry point (`dist/console.js`): login (the shared staff form), the
 * identity key and its certificate, then the shift — state, view and connection wired
 * together. Transcripts, shift keys and the desk key live in this page's memory only; the
 * only thing kept across a reload is the duty choice (languages, topics, capacity) in
 * sessionStorage, so a reloaded console goes straight back on duty and reclaims its chats
 * within the relay's reconnect window.
 */

import { ApiError, StaffApi } from '../staff/api.js';
import { loginForm } from '../staff/login.js';
import { plainError } from '../staff/messages.js';
import { findPhoneDesk } from '../widget/callback.js';
import { button, h } from '../widget/dom.js';
import { Beeper } from './beep.js';
import { toConsoleConfig } from './config.js';
import type { ConsoleConfig } from './config.js';
import { ShiftConnection } from './connection.js';
import { enrol } from './enrol.js';
import type { ReadyIdentity } from './enrol.js';
import { indexedDbStore } from './identity.js';
import { brobyggerOffices } from './offices.js';
import type { BrobyggerOffice } from './offices.js';
import { clearDuty, loadDuty, saveDuty } from './resume.js';
import { startShift } from './shift.js';
import { initialShift, reduceShift } from './state.js';
import type { DutySettings, Notice, ShiftEvent, ShiftState } from './state.js';
import { ShiftView } from './view-shift.js';
import { parseIdCert } from '../proto/index.js';

const api = new StaffApi();
const wsUrl = `${location.origin.replace(/^http/, 'ws')}/v1/counsellor`;
const beeper = new Beeper();

const who = h('span', { class: 'who' });
const linkEl = h('span', { class: 'link', role: 'status' });
const logoutBtn = button('Log out', () => void logout());
logoutBtn.hidden = true;
const noticeEl = h('div', { class: 'notice-slot' });
/** Holds the current screen: the staff login form (its own `<main>`) or a `<main>` made by {@link screen}. */
const app = h('div', { class: 'app' });
document.body.append(
  h('header', { class: 'bar' }, h('span', { class: 'brand' }, 'lyt · shift console'), h('span', { class: 'bar-right' }, who, linkEl, logoutBtn)),
  noticeEl, app);
document.addEventListener('pointerdown', () => beeper.unlock(), { once: true });

let state: ShiftState = initialShift();
let view: ShiftView | undefined;
let connection: ShiftConnection | undefined;
let identity: ReadyIdentity | undefined;
let config: ConsoleConfig | undefined;
let deskPub: Uint8Array | undefined;
let ticker: ReturnType<typeof setInterval> | undefined;
let callKey = 0;

/** A new, empty `<main>` for the next screen. */
function screen(): HTMLElement {
  const main = h('main', { id: 'main' });
  app.replaceChildren(main);
  return main;
}

const NOTICES: Readonly<Record<Notice['key'], string>> = {
  duty_refused: 'The relay did not put you on duty',
  missed_offers: 'You missed several offers in a row, so you were put on a break. End the break when you are ready.',
  relay_error: 'The relay refused an action',
  link_lost: 'The connection to the relay dropped. Reconnecting — your chats are kept for you meanwhile.',
  link_back: 'Connected again.',
  shift_resumed: 'The console was reloaded, so you are back on duty with a new shift key. Live chats return with a renewed secure session; earlier messages are not kept on this device.',
};

function dispatch(e: ShiftEvent): void {
  const prev = state;
  state = reduceShift(state, e);
  if (state.offers.length > prev.offers.length) beeper.offer();
  if (state.duty !== prev.duty || state.settings !== prev.settings) persistDuty();
  if (prev.link === 'reconnecting' && state.link === 'online') state = reduceShift(state, { type: 'notice', notice: { kind: 'info', key: 'link_back' } });
  draw(prev);
}

function persistDuty(): void {
  if (state.duty === 'off') clearDuty(sessionStorage);
  else if (state.settings !== undefined) saveDuty(sessionStorage, { ...state.settings, onBreak: state.duty === 'break' });
}

function draw(prev: ShiftState | undefined): void {
  view?.render(state, Date.now());
  linkEl.textContent = { offline: 'Off duty', connecting: 'Connecting…', online: 'Connected', reconnecting: 'Reconnecting…' }[state.link];
  const offers = state.offers.length;
  document.title = offers > 0 ? `(${offers}) New offer · lyt console` : 'lyt · shift console';
  if (state.notice !== prev?.notice) drawNotice(state.notice);
  if (offers > 0 && ticker === undefined) ticker = setInterval(() => view?.tick(Date.now()), 1000);
  if (offers === 0 && ticker !== undefined) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

function drawNotice(n: Notice | undefined): void {
  if (n === undefined) {
    noticeEl.replaceChildren();
    return;
  }
  const text = NOTICES[n.key] + (n.detail === undefined ? '' : `: ${n.detail}`);
  noticeEl.replaceChildren(h('div', { class: `notice ${n.kind}`, role: n.kind === 'problem' ? 'alert' : 'status' },
    h('p', {}, text), button('Dismiss', () => dispatch({ type: 'dismiss_notice' }), { class: 'link' })));
}

async function ticket(): Promise<string> {
  try {
    return (await api.ticket()).ticket;
  } catch (e) {
    // The login session ended: a fresh page asks to log in, then goes back on duty and reclaims the chats.
    if (e instanceof ApiError && e.code === 'unauthorized') location.reload();
    throw e;
  }
}

async function goOnDuty(settings: DutySettings): Promise<void> {
  beeper.unlock();
  const id = identity;
  if (id === undefined || config === undefined) return;
  if (connection === undefined) {
    let shift;
    try {
      shift = await startShift(id.signer, id.idCert, config.orgRoot, Math.floor(Date.now() / 1000));
    } catch (e) {
      dispatch({ type: 'duty_refused', message: e instanceof Error ? e.message : 'the shift key could not be made' });
      return;
    }
    connection = new ShiftConnection({
      url: wsUrl, ticket, dispatch, nowMs: () => Date.now(),
      openSocket: (url) => new WebSocket(url),
      isSeen: (conv) => state.active === conv && document.visibilityState === 'visible',
      identity: { sign: (m) => id.signer.sign(m), idCert: id.idCert, alias: parseIdCert(id.idCert).alias },
    }, shift);
  }
  connection.goOnDuty(settings);
}

function endShift(): void {
  connection?.endShift();
  connection = undefined;
  clearDuty(sessionStorage);
  view?.desk.forgetKey();
}

async function logout(): Promise<void> {
  connection?.close();
  connection = undefined;
  clearDuty(sessionStorage);
  view?.desk.forgetKey();
  await api.logout().catch(() => undefined);
  // A fresh page: nothing of this shift stays in memory.
  location.reload();
}

function showShift(id: ReadyIdentity, cfg: ConsoleConfig): void {
  identity = id;
  config = cfg;
  view = new ShiftView(cfg, {
    goOnDuty: (s) => void goOnDuty(s),
    setBreak: (on) => connection?.setBreak(on),
    endShift,
    accept: (o) => {
      connection?.accept(o);
      dispatch({ type: 'select', conv: o.conv });
      view?.focusActive();
    },
    decline: (conv) => connection?.decline(conv),
    select: (conv) => {
      dispatch({ type: 'select', conv });
      connection?.markSeen(conv);
      view?.focusActive();
    },
    send: (conv, body) => connection?.sendText(conv, body) ?? false,
    typing: (conv, on) => connection?.typing(conv, on),
    transfer: (conv, to) => connection?.transfer(conv, to),
    end: (conv, tags) => connection?.end(conv, tags),
    close: (conv) => dispatch({ type: 'chat_closed', conv }),
    colleagues: () => api.colleagues(),
    callbackDone: (cbId, tags) => connection?.callbackDone(cbId, tags),
    offices: () => loadOffices(cfg.orgRoot),
    refer: (conv, draft) => {
      if (connection === undefined) return REFER_PROBLEMS.not_secure;
      const problem = connection.requests.referrals.offer(conv, draft);
      return problem === undefined ? undefined : REFER_PROBLEMS[problem];
    },
    logCall: (log) => {
      callKey += 1;
      if (connection?.requests.logCall(callKey, log) !== true) return 'Not connected to the relay right now; try again in a moment.';
      dispatch({ type: 'call_sent', key: callKey, log });
      return undefined;
    },
  }, () => deskPub, parseIdCert(id.idCert).alias);
  const main = screen();
  main.replaceChildren(h('h1', { class: 'sr-only', tabindex: '-1' }, 'Shift'), view.el);
  draw(undefined);
  const resume = loadDuty(sessionStorage);
  if (resume !== undefined) {
    dispatch({ type: 'notice', notice: { kind: 'info', key: 'shift_resumed' } });
    void goOnDuty(resume).then(() => {
      if (resume.onBreak) connection?.setBreak(true);
    });
  } else {
    main.querySelector<HTMLElement>('#duty-h')?.focus();
  }
}

document.addEventListener('visibilitychange', () => {
  const active = state.active;
  if (document.visibilityState === 'visible' && active !== undefined) {
    dispatch({ type: 'chat_seen', conv: active });
    connection?.markSeen(active);
  }
});

const REFER_PROBLEMS = {
  no_identity: 'This console has no identity key to sign referrals with.',
  busy: 'A referral in this chat is being sealed or stored; wait for it to finish.',
  not_secure: 'The chat is not secure right now; wait until the session is renewed.',
} as const;

/** The brobygger offices whose certificates verify now (fetched each time the form opens). */
async function loadOffices(orgRoot: Uint8Array): Promise<readonly BrobyggerOffice[]> {
  const res = await fetch('/v1/offices', { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
  if (!res.ok) return [];
  return brobyggerOffices(await res.json(), orgRoot, Math.floor(Date.now() / 1000));
}

async function loadDesk(orgRoot: Uint8Array): Promise<void> {
  try {
    const res = await fetch('/v1/offices', { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
    if (res.ok) deskPub = findPhoneDesk(await res.json(), orgRoot, Math.floor(Date.now() / 1000))?.recipientPub;
  } catch {
    // Without the certificate the desk key is still usable; it is just not checked against it.
  }
}

async function loggedIn(): Promise<void> {
  const me = await api.me();
  who.textContent = `${me.alias} (${me.role})`;
  logoutBtn.hidden = false;
  const cfg = toConsoleConfig(await api.consoleConfig());
  void loadDesk(cfg.orgRoot);
  await enrol(screen(), api, indexedDbStore(), cfg.orgRoot, (id) => showShift(id, cfg));
}

function showLogin(): void {
  app.replaceChildren(loginForm({
    api, title: 'Shift console', intro: 'Log in to start your shift.',
    onLoggedIn: () => void start(),
  }));
}

function showProblem(e: unknown): void {
  const title = h('h1', { tabindex: '-1' }, 'The console could not start');
  screen().replaceChildren(title, h('p', { role: 'alert' }, plainError(e, 'start the console')), button('Try again', () => location.reload(), { class: 'primary' }));
  title.focus();
}

async function start(): Promise<void> {
  try {
    await loggedIn();
  } catch (e) {
    if (e instanceof ApiError && e.code === 'unauthorized') showLogin();
    else showProblem(e);
  }
}

void start();
