/** A whole chat from the demo host page, against the real relay and the demo counsellor bot. */

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { artifact, launch, openFromDemo, type Server, startServer } from './harness.js';

let server: Server;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ bot: true });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('full chat', () => {
  /** Launcher → topic → join → "talking with Ali" with the bot's safety code → message read and answered → download → end. */
  it('runs from launcher to end', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const page = await context.newPage();
    const widget = await openFromDemo(server, page);
    await expect(widget.getByText(/Den kan ikke slette din browserhistorik/).isVisible()).resolves.toBe(true);
    await widget.getByRole('radio', { name: /Vil gerne ud/ }).check();
    await widget.getByRole('button', { name: 'Start chat' }).click();
    await widget.getByRole('heading', { name: 'Du taler med Ali' }).waitFor({ timeout: 20_000 });

    const [, code] = await server.startBot().wait(/DEMO bot chat \S+ safety code (\d{6})/);
    await widget.getByText(`Sikkerhedskode: ${code}`).waitFor();

    await widget.getByLabel('Din besked').fill('Hej, jeg har brug for hjælp');
    await widget.getByRole('button', { name: 'Send' }).click();
    const mine = widget.locator('li.me', { hasText: 'Hej, jeg har brug for hjælp' });
    await mine.locator('.state', { hasText: 'Læst' }).waitFor({ timeout: 15_000 });
    await widget.locator('li.them', { hasText: 'message no. 1' }).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: artifact('chat-desktop.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), widget.getByRole('button', { name: 'Hent min samtale' }).click()]);
    expect(download.suggestedFilename()).toBe('chat.txt');
    expect(download.url()).toMatch(/^blob:/);
    const text = readFileSync((await download.path())!, 'utf8');
    expect(text).toContain('Chat med Ali');
    expect(text).toContain('Dig: Hej, jeg har brug for hjælp');
    expect(text).toContain('Ali: (Demo counsellor bot) Thank you, I received your message no. 1');

    await widget.getByRole('button', { name: 'Afslut chat' }).click();
    await widget.getByRole('heading', { name: 'Chatten er slut' }).waitFor();
    await widget.getByText('Du har afsluttet chatten').waitFor();
    await page.screenshot({ path: artifact('ended-desktop.png') });
    await context.close();
  });
});
