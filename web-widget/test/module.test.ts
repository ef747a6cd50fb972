/** Properties of the module as a whole: it bundles for the browser and touches no storage or network. */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as api from '../src/proto/index.js';

const SRC = fileURLToPath(new URL('../src/proto/', import.meta.url));
const FORBIDDEN = /localStorage|sessionStorage|indexedDB|document\.cookie|\bfetch\(|XMLHttpRequest|WebSocket\(|navigator\.sendBeacon|serviceWorker/;

describe('the protocol module', () => {
  /** No source file mentions browser storage, cookies or network APIs. */
  it('uses no storage and no network', () => {
    const files = readdirSync(SRC).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(SRC + f, 'utf8');
      expect(FORBIDDEN.exec(text)?.[0], f).toBeUndefined();
      expect(text.split('\n').length, `${f} is too long`).toBeLessThanOrEqual(300);
    }
  });

  /** The public entry point bundles for the browser with no Node built-ins, and the bundle is storage-free too. */
  it('bundles for the browser', async () => {
    const out = await build({
      entryPoints: [SRC + 'index.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, minify: true, target: 'es2022',
    });
    const code = out.outputFiles[0]!.text;
    expect(code.length).toBeGreaterThan(10_000);
    expect(code.length).toBeLessThan(200_000);
    expect(FORBIDDEN.exec(code)?.[0]).toBeUndefined();
  });

  /** The entry point exports the main API. */
  it('exports the API', () => {
    for (const name of ['verifyBundle', 'Initiator', 'respondHandshake', 'sendMessage', 'receiveMessage', 'sealCallback', 'parseServerFrame', 'pad', 'unpad']) {
      expect(api, name).toHaveProperty(name);
    }
  });
});
