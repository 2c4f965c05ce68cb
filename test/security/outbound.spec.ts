import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import {
  classifyWebPushAnswer,
  classifyWebPushError,
  MAX_BODY_BYTES,
  PushTimeoutError,
  SafeHttpClient,
} from '@davpush/gateways';
import { issueServerCert } from '../support/test-ca';

/**
 * SafeHttpClient at send time (docs/security.md "Outbound requests (SSRF)"): the SSRF guard on the address actually connected
 * to, no redirects, a capped body read and timeouts that fire. Real local servers, real sockets.
 */
const TIMEOUT_MS = 400;
const clients: SafeHttpClient[] = [];
const servers: net.Server[] = [];

function client(allowPrivate: boolean): SafeHttpClient {
  const c = new SafeHttpClient(
    loadConfig({
      DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: allowPrivate ? '1' : '0',
      DAVPUSH_PUSH_TIMEOUT_MS: String(TIMEOUT_MS),
    }),
  );
  clients.push(c);
  return c;
}

interface Local {
  port: number;
  requests: string[];
  connections: number;
}

async function listen<T extends net.Server>(server: T, local: Local): Promise<Local> {
  servers.push(server);
  server.on('connection', (s: net.Socket) => {
    local.connections++;
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  local.port = (server.address() as net.AddressInfo).port;
  return local;
}

/** An HTTPS push service whose answer is `handler`'s business. */
function pushService(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Local> {
  const local: Local = { port: 0, requests: [], connections: 0 };
  const server = https.createServer(issueServerCert(), (req, res) => {
    local.requests.push(`${req.method} ${req.url}`);
    req.resume();
    handler(req, res);
  });
  return listen(server, local);
}

const post = (c: SafeHttpClient, url: string) =>
  c.post(new URL(url), { 'content-type': 'application/octet-stream', ttl: 60 }, Buffer.from('x'));

afterEach(() => {
  for (const s of servers.splice(0)) {
    (s as http.Server).closeAllConnections?.();
    s.close();
  }
});
afterAll(() => clients.forEach((c) => c.onApplicationShutdown()));

describe('SafeHttpClient refuses private destinations at send time', () => {
  it.each([
    'https://127.0.0.1:9/p',
    'https://[::1]:9/p',
    'https://[::ffff:7f00:1]:9/p',
    'https://169.254.169.254/latest/meta-data',
    'https://[fd00:ec2::254]/p',
    'https://10.0.0.1/p',
  ])('literal %s', async (url) => {
    const err = await post(client(false), url).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EDAVPUSH_FORBIDDEN_ADDRESS' });
    expect(classifyWebPushError(err)).toEqual({
      kind: 'rejected',
      reason: 'push resource resolves to an address this process refuses',
    });
  });

  it('a name resolving to loopback (localhost): refused by the lookup, no connection made', async () => {
    const svc = await pushService((_req, res) => res.writeHead(201).end());
    const err = await post(client(false), `https://localhost:${svc.port}/push/a`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EDAVPUSH_FORBIDDEN_ADDRESS' });
    expect(svc.connections).toBe(0);
    // The same service is reachable where private endpoints are allowed: the refusal was the guard.
    expect((await post(client(true), `https://localhost:${svc.port}/push/a`)).status).toBe(201);
  });

  it('plain http is refused unless private endpoints are allowed', async () => {
    await expect(post(client(false), 'http://push.example/p')).rejects.toMatchObject({
      code: 'EDAVPUSH_FORBIDDEN_ADDRESS',
    });
  });
});

describe('SafeHttpClient never follows a redirect', () => {
  it.each([301, 302, 303, 307, 308])(
    '%i: answered as it is, the Location is never fetched, delivery fails',
    async (status) => {
      const target = await pushService((_req, res) => res.writeHead(201).end());
      const svc = await pushService((_req, res) =>
        res.writeHead(status, { location: `https://127.0.0.1:${target.port}/steal` }).end(),
      );
      const answer = await post(client(true), `https://127.0.0.1:${svc.port}/push/a`);
      expect(answer.status).toBe(status);
      expect(target.requests).toEqual([]);
      expect(target.connections).toBe(0);
      expect(classifyWebPushAnswer(answer)).toEqual({
        kind: 'rejected',
        reason: `http ${status} redirect not followed`,
      });
    },
  );
});

describe('SafeHttpClient bounds what it reads and how long it waits', () => {
  it('reads at most MAX_BODY_BYTES of an endless answer and lets go at once', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    const svc = await pushService((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.on('close', closed);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const started = Date.now();
    const answer = await post(client(true), `https://127.0.0.1:${svc.port}/push/a`);
    expect(answer.status).toBe(500);
    expect(Buffer.byteLength(answer.body)).toBe(MAX_BODY_BYTES);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
    // The client hung up instead of draining the stream until its deadline.
    await serverSawClose;
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
  });

  it('times out a server that accepts TCP and never speaks TLS (connect/handshake)', async () => {
    const local: Local = { port: 0, requests: [], connections: 0 };
    const silent = await listen(
      net.createServer(() => undefined),
      local,
    );
    const started = Date.now();
    const err = await post(client(true), `https://127.0.0.1:${silent.port}/push/a`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushTimeoutError);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 3);
    expect(classifyWebPushError(err)).toMatchObject({ kind: 'transient' });
  });

  it('times out a push service that takes the request and never answers', async () => {
    const svc = await pushService(() => undefined);
    const started = Date.now();
    const err = await post(client(true), `https://127.0.0.1:${svc.port}/push/a`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 3);
    expect(svc.requests).toEqual(['POST /push/a']);
  });

  it('bounds the whole exchange, not only idle gaps: a trickling answer is cut at the deadline', async () => {
    const svc = await pushService((_req, res) => {
      res.writeHead(201);
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('.')), TIMEOUT_MS / 8);
    });
    const started = Date.now();
    const err = await post(client(true), `https://127.0.0.1:${svc.port}/push/a`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushTimeoutError);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 3);
  });
});
