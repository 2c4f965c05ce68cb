import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@davpush/config';
import { ADMIN_TOKEN, freePort, startHarness } from '../e2e/harness';
import { EVENT, must, PUSH_PROPFIND, startProxyHarness, SYNC_TOKEN_PROPFIND, type ProxyHarness } from './proxy-harness';
import { readPush, sleep, syncTokenIn, topicIn } from './push-documents';

const CAL = '/user/calendars/calendar/';
const HOOK_SECRET = 'hook-secret-0123456789abcdef';
const ics = { 'content-type': 'text/calendar; charset=utf-8' };

describe('proxy in front of Xandikos (no hook: the poller)', () => {
  let h: ProxyHarness;
  const token = async () =>
    syncTokenIn(await (await must(h.dav('PROPFIND', CAL, { depth: '0', body: SYNC_TOKEN_PROPFIND }), 207)).text());

  beforeAll(async () => {
    h = await startProxyHarness('xandikos', {
      DAVPUSH_PROXY_POLL_SECONDS: '1',
      DAVPUSH_PROXY_HOOK_SECRET: HOOK_SECRET,
    });
  });
  afterAll(async () => h?.close());
  beforeEach(() => h.push.reset());

  it('Depth 1 on the calendar home: the calendar and the inbox differ; the registration is never forwarded', async () => {
    const res = await h.dav('PROPFIND', '/user/calendars/', { depth: '1', body: PUSH_PROPFIND('<D:resourcetype/>') });
    expect(res.status).toBe(207);
    const body = await res.text();
    const topics = [...body.matchAll(/<topic xmlns="https:\/\/bitfire.at\/webdav-push">([^<]*)<\/topic>/g)].map(
      (m) => m[1],
    );
    const fromCalendar = topicIn(await (await h.dav('PROPFIND', CAL, { depth: '0', body: PUSH_PROPFIND() })).text());
    // The home set and the inbox list it empty (404 propstat); the calendar has its topic.
    expect(topics).toEqual([fromCalendar]);
    expect(body).toContain('<topic xmlns="https://bitfire.at/webdav-push"/>');
    const before = await (await h.dav('PROPFIND', CAL, { depth: '1', body: SYNC_TOKEN_PROPFIND })).text();
    expect((await h.register(CAL, h.push.subscribe())).status).toBe(201);
    // Xandikos would have stored the POST body as a new calendar object (RFC 5995 add-member).
    expect(await token()).toBe(syncTokenIn(before));
  });

  it('a change written to Xandikos directly is pushed once by the poller; one through the proxy once too', async () => {
    const client = h.push.subscribe();
    await must(h.register(CAL, client), 201);
    await must(h.dav('PUT', `${CAL}direct.ics`, { body: EVENT('direct'), headers: ics, via: 'direct' }), 201);
    const [first] = await h.push.waitFor({ id: h.push.idOf(client) }, 8000);
    expect(readPush(h.push, first!).syncToken).toBe(await token());

    await must(h.dav('PUT', `${CAL}proxied.ics`, { body: EVENT('proxied'), headers: ics }), 201);
    const pushes = await h.push.waitFor({ id: h.push.idOf(client), count: 2 }, 8000);
    expect(readPush(h.push, pushes[1]!).syncToken).toBe(await token());
    await sleep(2500); // two more polls
    expect(h.push.received(h.push.idOf(client))).toHaveLength(2);
  });

  /** `npm run start:proxy` (the built entry) on the harness' Redis and DAV server; resolves with its banner. */
  async function proxyRole(check: (base: string, banner: string) => Promise<void>): Promise<void> {
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-proxy-role-'));
    const child = spawn(process.execPath, ['dist/apps/proxy/src/main.js'], {
      env: {
        ...process.env,
        REDIS_URL: h.davpush.redis.url,
        DAVPUSH_DATA_DIR: dataDir,
        DAVPUSH_PROXY_UPSTREAM: h.upstream.url,
        DAVPUSH_PROXY_PORT: String(port),
        DAVPUSH_LOG_LEVEL: 'error',
        DAVPUSH_LOG_FORMAT: 'pretty',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await expect.poll(() => out, { timeout: 20_000 }).toContain('proxy tenant:');
      await check(`http://127.0.0.1:${port}`, out);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }

  it('npm run start:proxy: the proxy role alone, on the same Redis, with the same tenant', async () => {
    await proxyRole(async (base, banner) => {
      expect(banner).toContain(`proxy tenant: ${h.tenantId}`);
      const res = await fetch(`${base}${CAL}`, { method: 'OPTIONS' });
      expect(res.headers.get('dav')).toMatch(/, webdav-push$/);
    });
  });

  it('with a hook secret, the hook endpoint takes the secret only, loopback or not', async () => {
    const hook = `${h.proxyUrl}/.davpush/hooks/radicale`;
    expect((await fetch(hook, { method: 'POST' })).status).toBe(403);
    expect(
      (await fetch(hook, { method: 'POST', headers: { authorization: 'Bearer wrong-secret-0123456789abc' } })).status,
    ).toBe(403);
    expect((await fetch(hook, { method: 'POST', headers: { authorization: `Bearer ${HOOK_SECRET}` } })).status).toBe(
      202,
    );
    expect((await fetch(hook, { method: 'GET', headers: { authorization: `Bearer ${HOOK_SECRET}` } })).status).toBe(
      405,
    );
  });

  it('a proxy tenant deleted through the API is replaced by a new one at the next start', async () => {
    const res = await h.davpush.request('DELETE', `/v1/tenants/${h.tenantId}`, { token: ADMIN_TOKEN });
    expect(res.status).toBe(200);
    await proxyRole(async (_base, banner) => {
      const id = /proxy tenant: ([0-9a-f]{24})/.exec(banner)![1];
      expect(id).not.toBe(h.tenantId);
      expect((await h.davpush.request('GET', `/v1/tenants/${id}`, { token: ADMIN_TOKEN })).status).toBe(200);
    });
  });
});

describe('proxy start-up', () => {
  it('names a bad or unreachable upstream', async () => {
    expect(() => loadConfig({ DAVPUSH_PROXY_UPSTREAM: 'ftp://x' })).toThrow(ConfigError);
    expect(() => loadConfig({ DAVPUSH_PROXY_UPSTREAM: 'ftp://x' })).toThrow(/DAVPUSH_PROXY_UPSTREAM: must be a URL/);
    const closed = await freePort();
    await expect(
      startHarness({
        DAVPUSH_PROXY_UPSTREAM: `http://127.0.0.1:${closed}`,
        DAVPUSH_PROXY_PORT: String(await freePort()),
      }),
    ).rejects.toThrow(
      new RegExp(`DAVPUSH_PROXY_UPSTREAM=http://127.0.0.1:${closed}/ does not answer \\(ECONNREFUSED\\)`),
    );
  });
});
