/**
 * The callback form: with the demo phone desk listed in `/v1/offices` (its certificate
 * verified against the pinned root), the widget seals the request in the browser and the
 * relay confirms it with `callback_received`.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { artifact, launch, openFromDemo, type Server, startServer } from './harness.js';

let server: Server;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('callback request', () => {
  /** The number never leaves the browser in the clear: only an envelope is sent, and it is accepted. */
  it('is sealed and accepted', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await context.newPage();
    const sent: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
    const widget = await openFromDemo(server, page);
    await widget.getByRole('heading', { name: 'Bed os ringe til dig' }).waitFor();
    await widget.getByLabel('Telefonnummer').fill('+45 12 34 56 78');
    await widget.getByLabel('Hvornår må vi ringe?').fill('i aften');
    await widget.getByRole('button', { name: 'Bed om et opkald' }).click();
    await widget.getByText('Tak. Vi ringer til dig.').waitFor();
    await page.screenshot({ path: artifact('callback-sent-phone.png') });
    const callback = sent.find((f) => f.startsWith('{"t":"callback"'));
    expect(callback).toBeDefined();
    expect(callback).not.toContain('12 34 56 78');
    expect(callback).not.toContain('i aften');
    await context.close();
  });
});
