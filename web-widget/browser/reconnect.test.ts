/**
 * A dropped connection during a chat: the widget reconnects by itself, resumes, and a
 * counsellor message sent while it was away appears exactly once; the chat goes on.
 * The test sits between the page and the relay (`routeWebSocket`) so it can cut the line.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, WebSocketRoute } from 'playwright-core';
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

describe('reconnect', () => {
  /** Cut while the bot answers; the answer is replayed after `resumed` and shown once; the next message works. */
  it('resumes the chat', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    /** While true, frames from the relay to the page are lost. */
    let cut = false;
    /** While true, new connections fail at once. */
    let blocked = false;
    let dropped = 0;
    let connections = 0;
    let close: (() => void) | undefined;
    await context.routeWebSocket(/\/v1\/visitor$/, (ws: WebSocketRoute) => {
      if (blocked) {
        void ws.close({ code: 1011, reason: 'offline' });
        return;
      }
      connections += 1;
      const relay = ws.connectToServer();
      ws.onMessage((m) => relay.send(m));
      relay.onMessage((m) => {
        if (cut) dropped += 1;
        else ws.send(m);
      });
      relay.onClose(() => void ws.close());
      ws.onClose(() => void relay.close());
      close = () => {
        void relay.close();
        void ws.close({ code: 1011, reason: 'offline' });
      };
    });
    const page = await context.newPage();
    const widget = await openFromDemo(server, page);
    await widget.getByRole('button', { name: 'Start chat' }).click();
    await widget.getByRole('heading', { name: 'Du taler med Ali' }).waitFor({ timeout: 20_000 });
    await widget.locator('li.them', { hasText: 'How can I help' }).waitFor();

    // The line goes dead as the message leaves: the bot's receipt, typing and answer are lost in transit.
    await widget.getByLabel('Din besked').fill('første');
    cut = true;
    await widget.getByLabel('Din besked').press('Enter');
    const deadline = Date.now() + 10_000;
    while (dropped < 3 && Date.now() < deadline) await page.waitForTimeout(100);
    expect(dropped).toBeGreaterThanOrEqual(3);
    await page.waitForTimeout(500);
    expect(await widget.locator('li.them', { hasText: 'message no. 1' }).count()).toBe(0);

    // Then the connection drops and stays down for a moment.
    blocked = true;
    close?.();
    await widget.getByRole('alert').filter({ hasText: 'Forbindelsen blev afbrudt' }).waitFor();
    await page.screenshot({ path: artifact('reconnecting-phone.png') });
    await page.waitForTimeout(1500);
    blocked = false;
    cut = false;

    // Back by itself: the answer sent while away is shown exactly once, the receipt arrives.
    await widget.locator('li.them', { hasText: 'message no. 1' }).waitFor({ timeout: 20_000 });
    await widget.locator('li.me', { hasText: 'første' }).locator('.state', { hasText: 'Læst' }).waitFor();
    await expect(widget.getByRole('alert').isHidden()).resolves.toBe(true);
    expect(connections).toBe(2);
    await page.waitForTimeout(500);
    expect(await widget.locator('li.them', { hasText: 'message no. 1' }).count()).toBe(1);
    expect(await widget.locator('li.them').count()).toBe(2);

    // The chat goes on in the same session.
    await widget.getByLabel('Din besked').fill('anden');
    await widget.getByLabel('Din besked').press('Enter');
    await widget.locator('li.them', { hasText: 'message no. 2' }).waitFor({ timeout: 15_000 });
    expect(await widget.locator('li.me').count()).toBe(2);
    await context.close();
  });
});
