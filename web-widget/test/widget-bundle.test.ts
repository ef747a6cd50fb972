/** The built widget: no storage, no eval, no third-party URL, within its size budget, and the sources stay small. */

import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FORBIDDEN = /localStorage|sessionStorage|indexedDB|document\.cookie|serviceWorker|\bcaches\.|sendBeacon|\beval\(|new Function\(|innerHTML|outerHTML|insertAdjacentHTML|document\.write/;

async function bundle(entry: string): Promise<string> {
  const out = await build({ entryPoints: [ROOT + entry], bundle: true, minify: true, write: false, platform: 'browser', format: 'iife', target: 'es2022' });
  return out.outputFiles[0]!.text;
}

describe('the widget bundle', () => {
  /** widget.js and embed.js use no browser storage, no eval and no HTML strings, and stay under budget. */
  it('is storage-free and small', async () => {
    const widget = await bundle('src/widget/main.ts');
    const embed = await bundle('src/embed.ts');
    for (const code of [widget, embed]) expect(FORBIDDEN.exec(code)?.[0]).toBeUndefined();
    expect(gzipSync(widget).length).toBeLessThan(60 * 1024);
    expect(gzipSync(embed).length).toBeLessThan(4 * 1024);
  });

  /** The only absolute URLs in the widget are the neutral quick-exit fallback (requests go to its own origin). */
  it('names no third-party origin', async () => {
    const widget = await bundle('src/widget/main.ts');
    const urls = [...new Set(widget.match(/https?:\/\/[a-z0-9.-]+/gi) ?? [])];
    expect(urls).toEqual(['https://www.google.com']);
  });

  /** The committed dist/ is what `npm run build` makes from these sources. */
  it('has dist/ built', () => {
    // dist/ also holds the staff pages (console, dashboard); each has its own bundle test.
    expect(readdirSync(ROOT + 'dist')).toEqual(expect.arrayContaining(['embed.js', 'widget.css', 'widget.html', 'widget.js']));
    const html = readFileSync(ROOT + 'dist/widget.html', 'utf8');
    expect(html).not.toMatch(/<script>|\sstyle=|\son[a-z]+=/);
  });

  /** Source files stay short (STYLE.md: about 400 lines). */
  it('keeps files small', () => {
    for (const dir of ['src/widget/', 'src/', 'src/shared/']) {
      for (const f of readdirSync(ROOT + dir).filter((n) => n.endsWith('.ts'))) {
        expect(readFileSync(ROOT + dir + f, 'utf8').split('\n').length, f).toBeLessThanOrEqual(400);
      }
    }
  });
});
