import type { INestApplication } from '@nestjs/common';
import { ProxyServer } from '../../apps/proxy/src';
import { freePort, startHarness, type Harness } from '../e2e/harness';
import { davx5Register, specSampleRegister } from '../e2e/push-documents';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { basic, startRadicale, startXandikos, type DavServer } from './dav-servers';

export interface ProxyHarness {
  davpush: Harness;
  app: INestApplication;
  upstream: DavServer;
  push: FakePushService;
  /** The proxy's public base (= where it listens). */
  proxyUrl: string;
  tenantId: string;
  /** A request to the proxy (`via: 'direct'`: straight to the DAV server). */
  dav(method: string, path: string, opts?: DavOptions): Promise<Response>;
  register(
    path: string,
    client: WebPushClient,
    opts?: { user?: string; password?: string; form?: 'davx5' | 'spec' },
  ): Promise<Response>;
  close(): Promise<void>;
}

export interface DavOptions {
  user?: string;
  password?: string;
  headers?: Record<string, string>;
  body?: string;
  depth?: '0' | '1' | 'infinity';
  via?: 'proxy' | 'direct';
}

/**
 * davpush (api, worker and proxy in one process, its own Redis) in front of a real DAV server on
 * loopback, with a fake push service that decrypts what arrives.
 */
export async function startProxyHarness(
  kind: 'radicale' | 'xandikos',
  env: Record<string, string> = {},
): Promise<ProxyHarness> {
  const proxyPort = await freePort();
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const upstream =
    kind === 'radicale'
      ? await startRadicale({ hookUrl: `${proxyUrl}/.davpush/hooks/radicale` })
      : await startXandikos();
  const push = await FakePushService.start();
  const davpush = await startHarness({
    DAVPUSH_PROXY_UPSTREAM: upstream.url,
    DAVPUSH_PROXY_PORT: String(proxyPort),
    DAVPUSH_PROXY_PUBLIC_URL: proxyUrl,
    ...(kind === 'radicale'
      ? {
          DAVPUSH_PROXY_SERVICE_USER: 'davpush',
          DAVPUSH_PROXY_SERVICE_PASSWORD: 'service-pw',
          DAVPUSH_PROXY_POLL_SECONDS: '0',
        }
      : {}),
    ...env,
  });
  const dav: ProxyHarness['dav'] = (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.user) headers.authorization = basic(opts.user, opts.password);
    if (opts.depth) headers.depth = opts.depth;
    if (opts.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/xml; charset=utf-8';
    const base = opts.via === 'direct' ? upstream.url : proxyUrl;
    return fetch(new URL(path, base), { method, headers, body: opts.body, redirect: 'manual' });
  };
  return {
    davpush,
    app: davpush.app,
    upstream,
    push,
    proxyUrl,
    tenantId: davpush.app.get(ProxyServer).tenantId,
    dav,
    register(path, client, opts = {}) {
      const expires = new Date(Date.now() + 3 * 86400_000).toUTCString();
      const body = opts.form === 'spec' ? specSampleRegister(client, expires) : davx5Register(client, expires);
      return dav('POST', path, { user: opts.user, password: opts.password, body });
    },
    async close() {
      await davpush.close();
      await push.stop();
      await upstream.stop();
    },
  };
}

export const EVENT = (uid: string, summary = 'Meeting') =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//davpush tests//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260102T100000Z',
    'DTEND:20260102T110000Z',
    `SUMMARY:${summary}`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');

export const MKCALENDAR = (name: string) =>
  `<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>${name}</D:displayname></D:prop></D:set></C:mkcalendar>`;

export const PUSH_PROPFIND = (extra = '') =>
  `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:P="https://bitfire.at/webdav-push"><D:prop>${extra}<P:transports/><P:topic/><P:supported-triggers/></D:prop></D:propfind>`;

export const SYNC_TOKEN_PROPFIND =
  '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>';

/** Set-up steps: the response, or an Error naming the status when it is not `status`. */
export async function must(res: Promise<Response>, status: number): Promise<Response> {
  const r = await res;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${await r.text()}`);
  return r;
}
