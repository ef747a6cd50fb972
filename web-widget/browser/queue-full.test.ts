/** A full queue (the server started with a queue cap of 0): the visitor is told in plain words and given the phone line. */

import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { artifact, launch, openFromDemo, type Server, startServer } from './harness.js';

let server: Server;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ env: { LYT_LIMITS__MAX_QUEUE_LEN: '0' } });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('queue full', () => {
  /** Joining a full queue shows the reason and the phone number, at phone and desktop size. */
  it.each([['phone', 360, 740], ['desktop', 1280, 800]])('explains it (%s)', async (name, width, height) => {
    const context = await browser.newContext({ viewport: { width, height } });
    const page = await context.newPage();
    const widget = await openFromDemo(server, page);
    await widget.getByRole('button', { name: 'Start chat' }).click();
    await widget.getByRole('heading', { name: 'Det lykkedes ikke' }).waitFor();
    await widget.getByText('Der venter for mange lige nu. Prøv igen senere, eller ring til os.').waitFor();
    await widget.getByText('+45 00 00 00 00 (demo)', { exact: false }).waitFor();
    await page.screenshot({ path: artifact(`queue-full-${name}.png`) });
    await context.close();
  });
});
