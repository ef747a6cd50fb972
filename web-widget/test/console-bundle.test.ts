/** The built console: no inline script or style (the page's CSP allows none), no eval or HTML strings, storage only where intended. */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

describe('the console bundle', () => {
  /** console.html loads only its own files; console.js has no eval, no HTML strings, no cookies or localStorage. */
  it('fits the CSP and keeps nothing but the duty choice and the identity key', async () => {
    expect(readdirSync(ROOT + 'dist')).toEqual(expect.arrayContaining(['console.html', 'console.js', 'console.css']));
    const html = readFileSync(ROOT + 'dist/console.html', 'utf8');
    expect(html).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/);
    expect(html.match(/(?:src|href)="[^"]*"/g)).toEqual(['href="console.css"', 'src="console.js"']);
    const out = await build({ entryPoints: [ROOT + 'src/console/main.ts'], bundle: true, minify: true, write: false, platform: 'browser', format: 'iife', target: 'es2022' });
    const code = out.outputFiles[0]!.text;
    expect(/localStorage|document\.cookie|serviceWorker|\bcaches\.|sendBeacon|\beval\(|new Function\(|innerHTML|outerHTML|insertAdjacentHTML|document\.write/.exec(code)?.[0]).toBeUndefined();
    expect([...new Set(code.match(/https?:\/\/[a-z0-9.-]+/gi) ?? [])]).toEqual([]);
  });

  /** Console sources stay short (STYLE.md: about 400 lines). */
  it('keeps files small', () => {
    for (const f of readdirSync(ROOT + 'src/console/').filter((n) => n.endsWith('.ts'))) {
      expect(readFileSync(ROOT + 'src/console/' + f, 'utf8').split('\n').length, f).toBeLessThanOrEqual(400);
    }
  });
});
