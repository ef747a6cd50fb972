/**
 * The embed snippet's configuration: read from the `<script>` tag's data attributes,
 * validated, and turned into the widget's URL. Pure, so it is unit-tested without a page.
 */

import { type Lang, toLang } from './shared/langs.js';

/** The data attributes as read (`data-relay`, `data-org-root`, `data-lang`, `data-quick-exit`). */
export interface EmbedAttributes {
  readonly relay?: string | undefined;
  readonly orgRoot?: string | undefined;
  readonly lang?: string | undefined;
  readonly quickExit?: string | undefined;
}

/** A valid configuration. */
export interface EmbedConfig {
  /** The relay's origin (`https://chat.example.org`), where the widget and its socket live. */
  readonly relayOrigin: string;
  /** The pinned org root public key, base64url (32 bytes). */
  readonly orgRoot: string;
  readonly lang: Lang;
  /** Where quick exit sends the host page. */
  readonly quickExit: string;
}

/** Used when `data-quick-exit` is missing or not an http(s) URL: a page nobody has to explain. */
export const DEFAULT_QUICK_EXIT = 'https://www.google.com/';

const ORG_ROOT = /^[A-Za-z0-9_-]{43}$/;

function httpUrl(value: string | undefined): URL | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value.trim());
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Validates the attributes; an error string says what the host page must fix. */
export function parseEmbedConfig(a: EmbedAttributes): EmbedConfig | { readonly error: string } {
  const relay = httpUrl(a.relay);
  if (relay === undefined) return { error: 'data-relay must be the http(s) URL of the lyt relay' };
  const orgRoot = (a.orgRoot ?? '').trim();
  if (!ORG_ROOT.test(orgRoot)) return { error: 'data-org-root must be the base64url org root public key (43 characters)' };
  return {
    relayOrigin: relay.origin,
    orgRoot,
    lang: toLang(a.lang),
    quickExit: httpUrl(a.quickExit)?.href ?? DEFAULT_QUICK_EXIT,
  };
}

/** The widget URL; the configuration travels in the fragment, which is never sent to a server. */
export function widgetUrl(c: EmbedConfig): string {
  const fragment = new URLSearchParams({ root: c.orgRoot, lang: c.lang, exit: c.quickExit });
  return `${c.relayOrigin}/widget/#${fragment.toString()}`;
}

/** The launcher's label in each language (the button lives on the host page, before the widget loads). */
export const LAUNCHER_LABEL: Readonly<Record<Lang, string>> = {
  da: 'Chat anonymt',
  en: 'Chat anonymously',
  th: 'แชทแบบไม่ระบุตัวตน',
  ro: 'Chat anonim',
  bg: 'Анонимен чат',
};

/** The label of the launcher while the chat is open. */
export const LAUNCHER_CLOSE_LABEL: Readonly<Record<Lang, string>> = {
  da: 'Skjul chat',
  en: 'Hide chat',
  th: 'ซ่อนแชท',
  ro: 'Ascunde chatul',
  bg: 'Скрий чата',
};
