/**
 * Starts a real `lyt serve` (demo mode, port 0, fresh temp dir) and, when asked, the demo
 * counsellor bot; launches the machine's Chromium. Everything is stopped by `stop()`.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type FrameLocator, type Page } from 'playwright-core';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** The lyt binary: `LYT_BIN`, else the repository's `target/debug/lyt`. */
export const LYT_BIN = process.env['LYT_BIN'] ?? resolve(HERE, '../../target/debug/lyt');
export const ARTIFACTS = resolve(HERE, '../artifacts');

/** Lines a child prints, with a way to wait for one. */
export class Lines {
  readonly all: string[] = [];
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(child: ChildProcess) {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.all.push(line);
        this.waiters = this.waiters.filter((w) => {
          const m = line.match(w.re);
          if (m !== null) w.resolve(m);
          return m === null;
        });
      });
    }
  }

  wait(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    for (const line of this.all) {
      const m = line.match(re);
      if (m !== null) return Promise.resolve(m);
    }
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`timed out waiting for ${re}; output:\n${this.all.join('\n')}`)), timeoutMs);
      this.waiters.push({ re, resolve: (m) => { clearTimeout(timer); ok(m); } });
    });
  }
}

export interface Server {
  readonly url: string;
  readonly dir: string;
  /** Starts the demo counsellor bot (once); its output lines. */
  startBot(): Lines;
  stop(): Promise<void>;
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/** Starts `lyt serve` and optionally the bot; `env` adds variables such as `LYT_LIMITS__MAX_QUEUE_LEN`. */
export async function startServer(opts: { bot?: boolean; env?: Record<string, string> } = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'lyt-widget-'));
  const env = { ...process.env, LYT_DEMO_DIR: dir, RUST_LOG: 'warn', ...opts.env };
  const server = spawn(LYT_BIN, ['serve', '--listen', '127.0.0.1:0', '--internal', '127.0.0.1:0', '--no-demo-bot'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Lines(server);
  const [, url] = await out.wait(/lyt listening on (http:\/\/127\.0\.0\.1:\d+) \(public\)/);
  const children = [server];
  for (const file of ['widget.js', 'embed.js', 'widget.css']) {
    const served = await (await fetch(`${url!}/widget/${file}`)).text();
    if (served !== readFileSync(resolve(HERE, `../dist/${file}`), 'utf8')) {
      await kill(server);
      throw new Error(`${LYT_BIN} serves another ${file} than dist/: run \`cargo build\` after \`npm run build\` (see README)`);
    }
  }
  let bot: Lines | undefined;
  const startBot = (): Lines => {
    if (bot !== undefined) return bot;
    const b = spawn(LYT_BIN, ['counsellor', 'bot', '--server', url!, '--demo-dir', dir, '--username', 'ali'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(b);
    bot = new Lines(b);
    return bot;
  };
  if (opts.bot === true) await startBot().wait(/on duty/);
  return {
    url: url!, dir, startBot,
    async stop() {
      await Promise.all(children.map(kill));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The machine's Chromium, never a downloaded one. */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['CHROMIUM'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Where screenshots go (gitignored). */
export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** The widget URL for `server` opened on its own (no host page), with the demo's org root and `lang`. */
export async function widgetUrl(server: Server, page: Page, lang = 'da'): Promise<string> {
  await page.goto(`${server.url}/demo`);
  const root = await page.locator('script[data-org-root]').getAttribute('data-org-root');
  return `${server.url}/widget/#root=${root}&lang=${lang}&exit=${encodeURIComponent(QUICK_EXIT_URL)}`;
}

/** The demo's quick-exit site; tests fulfil it locally so nothing leaves the machine. */
export const QUICK_EXIT_URL = 'https://www.dr.dk/vejret';

/** Answers every request to the quick-exit site with a tiny local page; returns the URLs asked for. */
export async function fakeExitSite(context: BrowserContext): Promise<string[]> {
  const hits: string[] = [];
  await context.route('https://www.dr.dk/**', (route) => {
    hits.push(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Vejret</title><h1>Vejret</h1>' });
  });
  return hits;
}

/** Opens the widget from the demo host page's launcher; returns the widget frame. */
export async function openFromDemo(server: Server, page: Page): Promise<FrameLocator> {
  await page.goto(`${server.url}/demo`);
  await page.getByRole('button', { name: 'Chat anonymt' }).click();
  const frame = page.frameLocator('#lyt-widget-frame');
  await frame.getByRole('heading', { name: 'Anonym chat' }).waitFor();
  return frame;
}
