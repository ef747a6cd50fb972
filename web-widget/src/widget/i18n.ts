/** Message lookup: a key and variables in, the text in the chosen language out (English if a key were ever missing). */

import type { Lang } from '../shared/langs.js';
import { bg } from './i18n/bg.js';
import { da } from './i18n/da.js';
import { en } from './i18n/en.js';
import type { Catalogue, MsgKey } from './i18n/en.js';
import { ro } from './i18n/ro.js';
import { th } from './i18n/th.js';

export type { MsgKey } from './i18n/en.js';

/** Every catalogue, by language. */
export const CATALOGUES: Readonly<Record<Lang, Catalogue>> = { da, en, th, ro, bg };

/** Text variables, e.g. `{alias}`. */
export type Vars = Readonly<Record<string, string | number>>;

/** The text of `key` in `lang` with `{name}` placeholders filled from `vars`. */
export function t(lang: Lang, key: MsgKey, vars: Vars = {}): string {
  const text = CATALOGUES[lang][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole));
}

/** The placeholders a text uses, for the completeness test. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();
}
