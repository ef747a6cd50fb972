/**
 * The widget's entry point (`dist/widget.js`): reads the fragment, loads the status, and wires
 * the state, the view and the connection together. Quick exit lives here: it sends `leave`
 * without waiting, forgets keys and the page, and leaves — through the host page when framed.
 */

import { type Lang, LANGS, toLang } from '../shared/langs.js';
import { isQuickExitMessage, QUICK_EXIT_MESSAGE, TripleShift } from '../shared/triple-shift.js';
import type { CallbackFrame } from './callback.js';
import { findPhoneDesk } from './callback.js';
import { Client, parseResumed } from './client.js';
import { h } from './dom.js';
import { parseFragment } from './fragment.js';
import { CATALOGUES, t } from './i18n.js';
import { initialState, reduce } from './state.js';
import type { Event, State } from './state.js';
import { parseStatus } from './status.js';
import { transcript } from './transcript.js';
import { View } from './view.js';

const config = parseFragment(location.hash);
// The fragment has been read; drop it from the address so it is not shown or copied around.
history.replaceState(null, '', location.pathname);
const wsUrl = `${location.origin.replace(/^http/, 'ws')}/v1/visitor`;
const fetchOpts: RequestInit = { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };

let state: State = initialState(config.lang);
let exited = false;

const dispatch = (e: Event): void => {
  if (exited) return;
  state = reduce(state, e);
  draw();
};

/** Renders the state; the header's texts follow the language. */
function draw(): void {
  document.documentElement.lang = state.lang;
  document.title = t(state.lang, 'title');
  head.querySelector('label[for=lang]')!.textContent = t(state.lang, 'language');
  head.querySelector('#quick-exit')!.textContent = t(state.lang, 'quickExit');
  head.querySelector('#exit-hint')!.textContent = t(state.lang, 'quickExitHint');
  view.render(state);
}

const client = new Client({
  url: wsUrl,
  orgRoot: config.orgRoot ?? new Uint8Array(32),
  dispatch,
  openSocket: (url) => new WebSocket(url),
  nowMs: () => Date.now(),
});

async function loadStatus(): Promise<void> {
  try {
    const res = await fetch('/v1/status', fetchOpts);
    const status = res.ok ? parseStatus(await res.json()) : undefined;
    dispatch(status === undefined ? { type: 'status_failed' } : { type: 'status', status });
  } catch {
    dispatch({ type: 'status_failed' });
  }
}

/** `GET /v1/offices`: the callback form appears only with a phone desk verified against the pinned root. */
async function loadOffices(): Promise<void> {
  if (config.orgRoot === undefined) return;
  try {
    const res = await fetch('/v1/offices', fetchOpts);
    if (!res.ok) return;
    const desk = findPhoneDesk(await res.json(), config.orgRoot, Math.floor(Date.now() / 1000));
    if (desk !== undefined && !exited) view.setDesk(desk);
  } catch {
    // No offices: the phone number alone is shown.
  }
}

/** Sends a sealed callback request on a short-lived socket of its own; true unless the relay refuses it. */
function sendCallback(frame: CallbackFrame): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      ws.onmessage = ws.onclose = null;
      if (ws.readyState === WebSocket.OPEN) ws.send('{"t":"leave"}');
      ws.close(1000);
      resolve(ok);
    };
    const timer = setTimeout(() => done(ws.readyState === WebSocket.OPEN), 3000);
    ws.onmessage = (ev) => {
      const text = String(ev.data);
      if (text.startsWith('{"t":"hello"')) ws.send(JSON.stringify(frame));
      else if (text.startsWith('{"t":"callback_received"')) done(true);
      else if (text.startsWith('{"t":"error"') && parseResumed(text) === undefined) done(false);
    };
    ws.onclose = () => done(false);
  });
}

function download(): void {
  const text = transcript(state.lang, state.alias ?? '', state.lines);
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = h('a', { href: url, download: 'chat.txt', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Quick exit: `leave` without waiting, keys and page forgotten, then away. */
function quickExit(): void {
  if (exited) return;
  exited = true;
  client.leave();
  state = initialState(state.lang);
  document.body.replaceChildren();
  document.title = '';
  if (window.parent !== window) {
    window.parent.postMessage({ type: QUICK_EXIT_MESSAGE }, '*');
    // If the host page has no bridge, at least leave nothing on screen in the frame.
    setTimeout(() => location.replace('about:blank'), 500);
  } else {
    location.replace(config.exitUrl);
  }
}

function header(): HTMLElement {
  const select = h('select', { id: 'lang' }, ...LANGS.map((l: Lang) => h('option', { value: l, selected: l === state.lang }, CATALOGUES[l].langName)));
  select.addEventListener('change', () => dispatch({ type: 'lang', lang: toLang(select.value, state.lang) }));
  const label = h('label', { for: 'lang' }, t(state.lang, 'language'));
  const exit = h('button', { type: 'button', class: 'exit', id: 'quick-exit', 'aria-describedby': 'exit-hint' }, t(state.lang, 'quickExit'));
  exit.addEventListener('click', quickExit);
  const hint = h('span', { id: 'exit-hint', class: 'sr-only' }, t(state.lang, 'quickExitHint'));
  return h('header', { class: 'bar' }, h('div', { class: 'lang' }, label, select), exit, hint);
}

const live = h('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite', id: 'announce' });
const banner = h('p', { class: 'banner', role: 'alert', hidden: true });
const main = h('main', { id: 'main' });
const head = header();
document.body.replaceChildren(head, banner, live, main);

const view = new View(main, live, banner, {
  join: (queue) => {
    dispatch({ type: 'join', queue });
    if (state.screen === 'joining') client.join(queue);
  },
  retryStatus: () => {
    dispatch({ type: 'restart' });
    void loadStatus();
  },
  leaveQueue: () => {
    client.leave();
    dispatch({ type: 'restart' });
  },
  send: (body) => { client.sendText(body); },
  typing: (hasText) => client.typing(hasText),
  end: () => client.end(),
  download,
  restart: () => {
    client.reset();
    dispatch({ type: 'restart' });
    void loadStatus();
  },
  sendCallback,
  answerOffer: (id, answer) => {
    const offer = state.lines.find((l) => l.id === id)?.offer;
    if (offer === undefined || offer.answer !== undefined) return;
    if (client.sendConsent(offer, answer)) dispatch({ type: 'referral_answered', id, answer });
  },
});

// The host page's Shift×3 asks the widget to quick-exit (so it can say `leave` first).
window.addEventListener('message', (ev) => {
  if (window.parent !== window && ev.source === window.parent && isQuickExitMessage(ev.data)) quickExit();
});
// The page going away (host navigates, tab closed) takes the keys with it: end the chat now
// rather than leave the counsellor waiting out the resume window.
window.addEventListener('pagehide', () => client.leave());

const shift = new TripleShift();
window.addEventListener('keydown', (ev) => {
  if (shift.press(ev, performance.now())) quickExit();
}, true);

draw();
if (config.orgRoot === undefined) dispatch({ type: 'status_failed' });
else {
  void loadStatus();
  void loadOffices();
}
