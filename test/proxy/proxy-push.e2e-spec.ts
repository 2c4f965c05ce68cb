import * as http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistrationStore } from '@davpush/storage';
import { LogRecorder } from '../operations/log-recorder';
import { basic, USERS } from './dav-servers';
import {
  EVENT,
  MKCALENDAR,
  must,
  PUSH_PROPFIND,
  startProxyHarness,
  SYNC_TOKEN_PROPFIND,
  type ProxyHarness,
} from './proxy-harness';
import { readPush, sleep, syncTokenIn, topicIn } from './push-documents';

const ics = { 'content-type': 'text/calendar; charset=utf-8' };

describe('proxy in front of Radicale: registration and pushes', () => {
  let h: ProxyHarness;
  let topic: string;
  const logs = new LogRecorder();
  const tokensSeen = new Set<string>();

  const tokenOf = async (path: string, user = 'alice') => {
    const token = syncTokenIn(
      await (await must(h.dav('PROPFIND', path, { user, depth: '0', body: SYNC_TOKEN_PROPFIND }), 207)).text(),
    );
    if (token) tokensSeen.add(token);
    return token;
  };
  const liveCount = (t: string) => h.app.get(RegistrationStore).countLive(h.tenantId, t);

  beforeAll(async () => {
    h = await startProxyHarness('radicale', { DAVPUSH_LOG_LEVEL: 'verbose' });
    h.app.useLogger(logs);
    await must(h.dav('MKCALENDAR', '/alice/cal/', { user: 'alice', body: MKCALENDAR('Cal') }), 201);
    await must(h.dav('MKCALENDAR', '/alice/shared/', { user: 'alice', body: MKCALENDAR('Shared') }), 201);
    topic = topicIn(
      await (
        await must(h.dav('PROPFIND', '/alice/cal/', { user: 'alice', depth: '0', body: PUSH_PROPFIND() }), 207)
      ).text(),
    );
  });
  afterAll(async () => h?.close());
  beforeEach(() => h.push.reset());

  it('DAVx5-form registration: 201, Location under the public URL, Expires; the same again: 204, same Location', async () => {
    const client = h.push.subscribe();
    const res = await h.register('/alice/cal/', client, { user: 'alice' });
    expect(res.status).toBe(201);
    const location = res.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^${h.proxyUrl}/\\.davpush/registrations/[A-Za-z0-9_-]{16,64}$`));
    expect(Date.parse(res.headers.get('expires')!)).toBeGreaterThan(Date.now());
    const again = await h.register('/alice/cal/', client, { user: 'alice' });
    expect(again.status).toBe(204);
    expect(again.headers.get('location')).toBe(location);
  });

  it('spec-form registration works too', async () => {
    const res = await h.register('/alice/cal/', h.push.subscribe(), { user: 'alice', form: 'spec' });
    expect(res.status).toBe(201);
  });

  it('wrong password: 401 with WWW-Authenticate, nothing stored; not a calendar or not readable: 403 push-not-available', async () => {
    const before = await liveCount(topic);
    const res = await h.register('/alice/cal/', h.push.subscribe(), { user: 'alice', password: 'wrong' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(await liveCount(topic)).toBe(before);
    for (const [path, user] of [
      ['/alice/', 'alice'],
      ['/alice/cal/', 'bob'],
    ] as const) {
      const refused = await h.register(path, h.push.subscribe(), { user });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('<P:push-not-available/>');
    }
  });

  it('a PUT by another client is pushed with the sync-token PROPFIND shows afterwards; the writer can silence only its own registration', async () => {
    const phone = h.push.subscribe();
    const laptop = h.push.subscribe();
    const phoneUrl = (await must(h.register('/alice/cal/', phone, { user: 'alice' }), 201)).headers.get('location')!;
    await must(h.register('/alice/cal/', laptop, { user: 'alice' }), 201);

    // The phone writes and says "not me" (as DAVx5 does on every PUT while syncing).
    const put = await h.dav('PUT', '/alice/cal/one.ics', {
      user: 'alice',
      body: EVENT('one'),
      headers: { ...ics, 'push-dont-notify': `"${phoneUrl}"` },
    });
    expect(put.status).toBe(201);
    const [record] = await h.push.waitFor({ id: h.push.idOf(laptop) });
    const msg = readPush(h.push, record!);
    expect(msg.topic).toBe(topic);
    expect(msg.contentUpdate).toBe(true);
    expect(msg.syncToken).toBe(await tokenOf('/alice/cal/'));
    await sleep(800);
    expect(h.push.received(h.push.idOf(phone))).toHaveLength(0);
    // Pushed once, although Radicale's hook reported the same write.
    expect(h.push.received(h.push.idOf(laptop))).toHaveLength(1);
  });

  it('Push-Dont-Notify over several header lines, with an invalid value ignored', async () => {
    const [phone, tablet, laptop] = [h.push.subscribe(), h.push.subscribe(), h.push.subscribe()];
    const phoneUrl = (await must(h.register('/alice/cal/', phone, { user: 'alice' }), 201)).headers.get('location')!;
    const tabletUrl = (await must(h.register('/alice/cal/', tablet, { user: 'alice' }), 201)).headers.get('location')!;
    await must(h.register('/alice/cal/', laptop, { user: 'alice' }), 201);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(new URL('/alice/cal/lines.ics', h.proxyUrl), {
        method: 'PUT',
        headers: {
          ...ics,
          authorization: basic('alice'),
          'push-dont-notify': [`"${phoneUrl}", "unterminated`, `"${tabletUrl}"`],
        },
      });
      req.on('response', (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject);
      req.end(EVENT('lines'));
    });
    expect(status).toBe(201);
    await h.push.waitFor({ id: h.push.idOf(laptop) });
    await sleep(800);
    expect(h.push.received(h.push.idOf(phone))).toHaveLength(0);
    expect(h.push.received(h.push.idOf(tablet))).toHaveLength(0);
  });

  it("a shared collection has one topic for all its users, and another user's Push-Dont-Notify does not silence a registration", async () => {
    const topicFor = async (user: string) =>
      topicIn(
        await (
          await must(h.dav('PROPFIND', '/alice/shared/', { user, depth: '0', body: PUSH_PROPFIND() }), 207)
        ).text(),
      );
    expect(await topicFor('bob')).toBe(await topicFor('alice'));
    const bobs = h.push.subscribe();
    const bobUrl = (await must(h.register('/alice/shared/', bobs, { user: 'bob' }), 201)).headers.get('location')!;
    const put = await h.dav('PUT', '/alice/shared/s.ics', {
      user: 'alice',
      body: EVENT('s'),
      headers: { ...ics, 'push-dont-notify': `"${bobUrl}", *` },
    });
    expect(put.status).toBe(201);
    const [record] = await h.push.waitFor({ id: h.push.idOf(bobs) });
    expect(readPush(h.push, record!).syncToken).toBe(await tokenOf('/alice/shared/'));
  });

  it('PROPPATCH through the proxy is a property update', async () => {
    const client = h.push.subscribe();
    await must(h.register('/alice/cal/', client, { user: 'alice', form: 'spec' }), 201);
    const body =
      '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Renamed</D:displayname></D:prop></D:set></D:propertyupdate>';
    expect((await h.dav('PROPPATCH', '/alice/cal/', { user: 'alice', body })).status).toBe(207);
    const [record] = await h.push.waitFor({ id: h.push.idOf(client) });
    expect(readPush(h.push, record!).propertyUpdate).toBe(true);
  });

  it('a change written to Radicale directly is pushed once (storage hook)', async () => {
    const client = h.push.subscribe();
    await must(h.register('/alice/cal/', client, { user: 'alice' }), 201);
    await must(
      h.dav('PUT', '/alice/cal/direct.ics', { user: 'alice', body: EVENT('direct'), headers: ics, via: 'direct' }),
      201,
    );
    const [record] = await h.push.waitFor({ id: h.push.idOf(client) });
    expect(readPush(h.push, record!).syncToken).toBe(await tokenOf('/alice/cal/'));
    await sleep(1000);
    expect(h.push.received(h.push.idOf(client))).toHaveLength(1);
  });

  it("DELETE of a registration: the owner's credentials → 204; another user → 404; unknown → 404; never forwarded", async () => {
    const location = (await must(h.register('/alice/cal/', h.push.subscribe(), { user: 'alice' }), 201)).headers.get(
      'location',
    )!;
    const del = (user: string) => fetch(location, { method: 'DELETE', headers: { authorization: basic(user) } });
    expect((await del('bob')).status).toBe(404);
    expect(
      (await fetch(location, { method: 'DELETE', headers: { authorization: basic('alice', 'wrong') } })).status,
    ).toBe(401);
    expect((await del('alice')).status).toBe(204);
    expect((await del('alice')).status).toBe(404);
    expect(
      (
        await fetch(`${h.proxyUrl}/.davpush/registrations/AAAAAAAAAAAAAAAAAAAAAA`, {
          method: 'DELETE',
          headers: { authorization: basic('alice') },
        })
      ).status,
    ).toBe(404);
  });

  it('a collection deleted through the proxy gets a last push, then its registrations go', async () => {
    await must(h.dav('MKCALENDAR', '/alice/old/', { user: 'alice', body: MKCALENDAR('Old') }), 201);
    const oldTopic = topicIn(
      await (
        await must(h.dav('PROPFIND', '/alice/old/', { user: 'alice', depth: '0', body: PUSH_PROPFIND() }), 207)
      ).text(),
    );
    const client = h.push.subscribe();
    await must(h.register('/alice/old/', client, { user: 'alice' }), 201);
    expect((await h.dav('DELETE', '/alice/old/', { user: 'alice' })).status).toBe(200);
    const [record] = await h.push.waitFor({ id: h.push.idOf(client) });
    expect(readPush(h.push, record!).topic).toBe(oldTopic);
    await expect.poll(() => liveCount(oldTopic), { timeout: 10_000 }).toBe(0);
  });

  it('a malformed push-register is answered 400 by the proxy, never forwarded', async () => {
    for (const body of [
      '<P:push-register xmlns:P="https://bitfire.at/webdav-push"><P:subscription>',
      '<!DOCTYPE x><push-register xmlns="https://bitfire.at/webdav-push"/>',
    ]) {
      const res = await h.dav('POST', '/alice/cal/', { user: 'alice', body });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('<D:error');
    }
  });

  it('no credential, sync-token or user name reached the logs', async () => {
    const text = logs.text();
    for (const secret of [
      ...Object.values(USERS),
      basic('alice').slice(6),
      basic('bob').slice(6),
      basic('davpush').slice(6),
      ...tokensSeen,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/alice|bob/);
    expect(tokensSeen.size).toBeGreaterThan(0);
    expect(logs.matching({ msg: 'change posted', kind: 'content' }).length).toBeGreaterThan(0);
  });
});
