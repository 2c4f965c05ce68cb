import { createDAVClient } from 'tsdav';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USERS } from './dav-servers';
import { EVENT, MKCALENDAR, must, startProxyHarness, SYNC_TOKEN_PROPFIND, type ProxyHarness } from './proxy-harness';
import { readPush, syncTokenIn } from './push-documents';

type Client = Awaited<ReturnType<typeof createDAVClient>>;

/** tsdav (npm, a real third-party CalDAV client) through the proxy and straight to Radicale. */
describe('proxy in front of Radicale: tsdav', () => {
  let h: ProxyHarness;
  let viaProxy: Client;
  let direct: Client;

  const client = (serverUrl: string) =>
    createDAVClient({
      serverUrl,
      credentials: { username: 'alice', password: USERS.alice },
      authMethod: 'Basic',
      defaultAccountType: 'caldav',
    });

  beforeAll(async () => {
    h = await startProxyHarness('radicale');
    await must(h.dav('MKCALENDAR', '/alice/cal/', { user: 'alice', body: MKCALENDAR('Cal') }), 201);
    viaProxy = await client(h.proxyUrl);
    direct = await client(h.upstream.url);
  });
  afterAll(async () => h?.close());

  it('discovers the same calendars, sees the push properties, and its PUT and DELETE are pushed', async () => {
    const calendars = await viaProxy.fetchCalendars();
    expect(calendars.map((c) => new URL(c.url, h.proxyUrl).pathname)).toEqual(
      (await direct.fetchCalendars()).map((c) => new URL(c.url, h.upstream.url).pathname),
    );
    const calendar = calendars.find((c) => c.url.endsWith('/alice/cal/'))!;
    const [found] = await viaProxy.propfind({
      url: calendar.url,
      depth: '0',
      props: { _attributes: { 'xmlns:P': 'https://bitfire.at/webdav-push' }, 'P:topic': {}, 'P:transports': {} },
    });
    expect(found!.props?.topic).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const phone = h.push.subscribe();
    await must(h.register('/alice/cal/', phone, { user: 'alice' }), 201);
    const created = await viaProxy.createCalendarObject({
      calendar,
      filename: 'tsdav.ics',
      iCalString: EVENT('tsdav'),
    });
    expect(created.status).toBe(201);
    const [first] = await h.push.waitFor({ id: h.push.idOf(phone) });
    const token = syncTokenIn(
      await (await h.dav('PROPFIND', '/alice/cal/', { user: 'alice', depth: '0', body: SYNC_TOKEN_PROPFIND })).text(),
    );
    expect(readPush(h.push, first!).syncToken).toBe(token);

    const [object] = await viaProxy.fetchCalendarObjects({
      calendar,
      objectUrls: [new URL('/alice/cal/tsdav.ics', h.proxyUrl).href],
    });
    const deleted = await viaProxy.deleteCalendarObject({ calendarObject: object! });
    expect(deleted.status).toBe(200);
    const pushes = await h.push.waitFor({ id: h.push.idOf(phone), count: 2 });
    expect(readPush(h.push, pushes[1]!).syncToken).not.toBe(token);
  });

  it('a sync through the proxy gives the same objects as direct', async () => {
    const [calendar] = (await viaProxy.fetchCalendars()).filter((c) => c.url.endsWith('/alice/cal/'));
    for (const uid of ['a', 'b', 'c'])
      await viaProxy.createCalendarObject({ calendar: calendar!, filename: `${uid}.ics`, iCalString: EVENT(uid) });
    const sync = async (c: Client, base: string) => {
      const responses = await c.syncCollection({
        url: new URL('/alice/cal/', base).href,
        props: { 'd:getetag': {} },
        syncLevel: 1,
      });
      return responses
        .map((r) => ({ href: r.href, etag: r.props?.getetag }))
        .toSorted((x, y) => String(x.href).localeCompare(String(y.href)));
    };
    const proxied = await sync(viaProxy, h.proxyUrl);
    expect(proxied.filter((r) => r.etag)).toHaveLength(3);
    expect(proxied).toEqual(await sync(direct, h.upstream.url));
    const objects = (c: Client, base: string) =>
      c
        .fetchCalendarObjects({ calendar: { ...calendar!, url: new URL('/alice/cal/', base).href } })
        .then((os) => os.map((o) => o.data).toSorted());
    expect(await objects(viaProxy, h.proxyUrl)).toEqual(await objects(direct, h.upstream.url));
  });
});
