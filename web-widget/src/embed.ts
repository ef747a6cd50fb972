/**
 * The host-page script (`dist/embed.js`): a launcher button that opens the lyt widget in an
 * iframe from the relay's origin, and the quick-exit bridge: a message from that iframe removes
 * it and replaces the host page's location with the neutral quick-exit site (no history entry
 * for the page that had the chat); Shift pressed three times on the host page hides the widget
 * at once and asks it to quick-exit first, so the chat ends with `leave`.
 * No dependencies, no storage, no requests of its own.
 */

import { LAUNCHER_CLOSE_LABEL, LAUNCHER_LABEL, parseEmbedConfig, widgetUrl } from './embed-config.js';
import type { EmbedConfig } from './embed-config.js';
import { isQuickExitMessage, QUICK_EXIT_MESSAGE, TripleShift } from './shared/triple-shift.js';

function setStyles(el: HTMLElement, styles: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(styles)) el.style.setProperty(name, value);
}

function launcher(c: EmbedConfig): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = LAUNCHER_LABEL[c.lang];
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', 'lyt-widget-frame');
  setStyles(button, {
    position: 'fixed', right: '16px', bottom: '16px', 'z-index': '2147483646', 'min-height': '56px',
    'min-width': '56px', padding: '0 22px', border: '2px solid #ffffff', 'border-radius': '28px',
    background: '#1d4f4a', color: '#ffffff', font: '600 17px/1.2 system-ui, sans-serif', cursor: 'pointer',
    'box-shadow': '0 2px 8px rgba(0,0,0,.35)',
  });
  return button;
}

function frame(c: EmbedConfig): HTMLIFrameElement {
  const iframe = document.createElement('iframe');
  iframe.id = 'lyt-widget-frame';
  iframe.title = LAUNCHER_LABEL[c.lang];
  iframe.src = widgetUrl(c);
  iframe.referrerPolicy = 'no-referrer';
  // Least privilege: the widget needs its own origin (for its socket's Origin check), forms and
  // downloads, and nothing else — no popups, no navigating the host page.
  iframe.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms allow-downloads');
  const small = window.matchMedia('(max-width: 480px)').matches;
  setStyles(iframe, small
    // Phones: the whole screen above the launcher, which stays visible to hide the chat again.
    ? {
        position: 'fixed', top: '0', left: '0', width: '100%', height: 'calc(100% - 88px)', border: '0',
        'border-bottom': '1px solid #555', 'z-index': '2147483647', background: '#ffffff',
      }
    : {
        position: 'fixed', right: '16px', bottom: '84px', width: '400px', height: 'min(680px, calc(100vh - 100px))',
        border: '1px solid #555', 'border-radius': '12px', 'z-index': '2147483647', background: '#ffffff',
        'box-shadow': '0 4px 24px rgba(0,0,0,.35)',
      });
  return iframe;
}

function start(script: HTMLScriptElement): void {
  const parsed = parseEmbedConfig({
    relay: script.dataset['relay'], orgRoot: script.dataset['orgRoot'], lang: script.dataset['lang'], quickExit: script.dataset['quickExit'],
  });
  if ('error' in parsed) {
    console.error(`lyt embed: ${parsed.error}`);
    return;
  }
  const c = parsed;
  const button = launcher(c);
  let iframe: HTMLIFrameElement | undefined;

  let exiting = false;
  const leaveNow = (): void => {
    iframe?.remove();
    button.remove();
    iframe = undefined;
    window.location.replace(c.quickExit);
  };
  /** Hides everything at once, lets the widget send `leave` (it answers), and goes — in 300 ms at most. */
  const quickExit = (): void => {
    if (exiting) return;
    exiting = true;
    button.style.setProperty('display', 'none');
    const target = iframe?.contentWindow;
    if (iframe === undefined || target === null || target === undefined) {
      leaveNow();
      return;
    }
    iframe.style.setProperty('visibility', 'hidden');
    target.postMessage({ type: QUICK_EXIT_MESSAGE }, c.relayOrigin);
    setTimeout(leaveNow, 300);
  };

  button.addEventListener('click', () => {
    if (iframe === undefined) {
      iframe = frame(c);
      document.body.appendChild(iframe);
    } else {
      const open = iframe.style.getPropertyValue('display') === 'none';
      iframe.style.setProperty('display', open ? 'block' : 'none');
      if (!open) {
        button.textContent = LAUNCHER_LABEL[c.lang];
        button.setAttribute('aria-expanded', 'false');
        return;
      }
    }
    button.textContent = LAUNCHER_CLOSE_LABEL[c.lang];
    button.setAttribute('aria-expanded', 'true');
    iframe.focus();
  });

  window.addEventListener('message', (event) => {
    if (event.origin !== c.relayOrigin || iframe === undefined || event.source !== iframe.contentWindow) return;
    if (isQuickExitMessage(event.data)) leaveNow();
  });
  const shift = new TripleShift();
  window.addEventListener('keydown', (event) => {
    if (shift.press(event, performance.now())) quickExit();
  }, true);
  document.body.appendChild(button);
}

const self = document.currentScript;
if (self instanceof HTMLScriptElement) {
  if (document.body === null) document.addEventListener('DOMContentLoaded', () => start(self), { once: true });
  else start(self);
}
