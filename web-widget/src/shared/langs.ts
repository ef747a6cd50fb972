/** The languages the widget speaks; the first is the default. */
export const LANGS = ['da', 'en', 'th', 'ro', 'bg'] as const;
/** A language code of {@link LANGS}. */
export type Lang = (typeof LANGS)[number];

/** `value` as a supported language, or `fallback`. */
export function toLang(value: string | null | undefined, fallback: Lang = 'da'): Lang {
  const v = (value ?? '').trim().toLowerCase();
  return (LANGS as readonly string[]).includes(v) ? (v as Lang) : fallback;
}
