/**
 * Accessibility: axe (WCAG 2.1 A/AA rules) finds nothing on the start, queued and chat screens,
 * at phone and desktop size; each screen is saved as a screenshot under artifacts/.
 */

import AxeBuilder from '@axe-core/playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { artifact, launch, type Server, startServer, widgetUrl } from './harness.js';

let server: Server;
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function axe(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  const found = result.violations.map((v) => `${screen}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(found).toEqual([]);
}

describe('accessibility', () => {
  /** Start → queued → chat, checked by axe and photographed; keyboard only. */
  it.each([['phone', 360, 740], ['desktop', 1280, 800]])('has no violations (%s)', async (name, width, height) => {
    // A server of its own, so the visitor waits in the queue until the bot is started.
    server = await startServer();
    const context = await browser.newContext({ viewport: { width, height } });
    try {
      await journey(context.newPage(), name);
    } finally {
      await context.close();
      await server.stop();
    }
  });
});

async function journey(pageP: Promise<Page>, name: string): Promise<void> {
  {
    const page = await pageP;
    await page.goto(await widgetUrl(server, page, 'da'));
    await page.getByRole('radio', { name: /Vil gerne ud/ }).waitFor();
    await axe(page, 'start');
    await page.screenshot({ path: artifact(`start-${name}.png`), fullPage: true });

    // Keyboard only: Tab to the start button, Enter.
    const start = page.getByRole('button', { name: 'Start chat' });
    for (let i = 0; i < 15 && !(await start.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Du er i kø' }).waitFor();
    await page.locator('#q-pos', { hasText: 'Du er nummer 1 i køen.' }).waitFor();
    await expect(page.evaluate(() => document.activeElement?.tagName)).resolves.toBe('H1');
    await axe(page, 'queued');
    await page.screenshot({ path: artifact(`queued-${name}.png`), fullPage: true });

    const bot = server.startBot();
    await page.getByRole('heading', { name: 'Du taler med Ali' }).waitFor({ timeout: 20_000 });
    await bot.wait(/safety code/);
    await page.getByLabel('Din besked').fill('Hej');
    await page.keyboard.press('Enter');
    await page.locator('li.them', { hasText: 'message no. 1' }).waitFor({ timeout: 15_000 });
    await axe(page, 'chat');
    await page.screenshot({ path: artifact(`chat-${name}.png`), fullPage: true });

    await page.getByRole('button', { name: 'Afslut chat' }).click();
    await page.getByRole('heading', { name: 'Chatten er slut' }).waitFor();
    await axe(page, 'ended');
    await page.screenshot({ path: artifact(`ended-${name}.png`), fullPage: true });
  }
}
