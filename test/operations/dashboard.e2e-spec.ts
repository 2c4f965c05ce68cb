import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_QUEUES } from '@davpush/queue';
import { FakePushService } from '../support/fake-push-service';
import { specSampleRegister } from '../e2e/push-documents';
import { ADMIN_TOKEN, startHarness, type Harness } from '../e2e/harness';

/** Debian's `chromium` package (.ci/run installs it); Playwright's own browser downloads are not used. */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-results/operations');
const SCREENSHOT = path.join(ARTIFACTS, 'queue-dashboard.png');

/**
 * The bull-board dashboard in a real browser (docs/operations.md "Queue dashboard"): opened once with `?token=`, it must show
 * every queue, keep the token out of the address bar, hold the session in an HttpOnly SameSite=Strict
 * cookie, load nothing from other origins, and refuse a browser that has no token.
 */
describe('queue dashboard in headless Chromium', () => {
  let h: Harness;
  let push: FakePushService;
  let browser: Browser;

  beforeAll(async () => {
    h = await startHarness();
    push = await FakePushService.start();
    const { apiKey } = await h.createTenant();
    const client = push.subscribe();
    await h.request('POST', '/v1/topics/dash/registrations', {
      token: apiKey,
      body: specSampleRegister(client, new Date(Date.now() + 3 * 86_400_000).toUTCString()),
      headers: { 'content-type': 'application/xml' },
    });
    await h.request('POST', '/v1/events', { token: apiKey, body: { topic: 'dash', changes: ['content'] } });
    await push.waitFor({ id: push.idOf(client) });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await push?.stop();
    await h?.close();
  });

  it('shows every queue after one visit with ?token=, then works on the session cookie alone', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const elsewhere: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === h.baseUrl) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    try {
      const res = await page.goto(`${h.baseUrl}/admin/queues?token=${ADMIN_TOKEN}`);
      expect(res?.status()).toBe(200);
      expect(page.url()).toBe(`${h.baseUrl}/admin/queues`);
      for (const name of ALL_QUEUES)
        await page.getByText(name, { exact: true }).first().waitFor({ state: 'visible', timeout: 15_000 });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);

      const [cookie] = (await context.cookies()).filter((c) => c.name === 'davpush_admin');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin/queues' });
      expect(cookie!.value).not.toContain(ADMIN_TOKEN);

      // A queue's own page, by navigation, on the cookie only.
      const queuePage = await page.goto(`${h.baseUrl}/admin/queues/queue/deliver-web-push`);
      expect(queuePage?.status()).toBe(200);
      await page.getByText('deliver-web-push', { exact: true }).first().waitFor({ state: 'visible', timeout: 15_000 });

      // The page asks for a web font from a CDN; the CSP stops it before any request leaves.
      expect(elsewhere).toEqual([]);
      expect(consoleErrors.filter((e) => !/Content Security Policy|fonts\.googleapis\.com/.test(e))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('refuses a browser without a valid token', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      for (const url of [
        '/admin/queues',
        '/admin/queues?token=wrong',
        '/admin/queues/api/queues',
        '/admin/queues/queue/fanout',
      ]) {
        const res = await page.goto(`${h.baseUrl}${url}`);
        expect({ url, status: res?.status() }).toEqual({ url, status: 401 });
      }
      expect(await page.textContent('body')).toContain('the admin token is required');
      expect(await context.cookies()).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
