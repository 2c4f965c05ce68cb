import type { INestApplication } from '@nestjs/common';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '@davpush/config';
import { createDavpushApp, type Roles } from '../../apps/davpush/src/app.factory';
import type { FakePushService } from '../support/fake-push-service';
import type { RedisCluster } from '../support/redis-cluster';
import { RedisServer } from '../support/redis-server';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** `fetch` against `baseUrl`: `token` as a Bearer credential, a non-string `body` sent as JSON. */
export function requester(baseUrl: string): Harness['request'] {
  return (method, url, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (typeof opts.body === 'string') body = opts.body;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    return fetch(new URL(url, baseUrl), { method, headers, body });
  };
}

export interface Harness {
  app: INestApplication;
  redis: RedisServer;
  baseUrl: string;
  request(
    method: string,
    url: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  createTenant(name?: string): Promise<{ id: string; apiKey: string }>;
  close(): Promise<void>;
}

/**
 * The real app (api + worker) in-process, on its own redis-server, talking HTTP on loopback.
 * Push services are local fakes, so private endpoints are allowed here.
 */
/**
 * POSTs the JSON registration of a new Web Push client of `push` for `topic` (with `extra` fields
 * such as `trigger` or `expires`); the caller checks the answer.
 */
export async function registerWebPush(
  h: Harness,
  apiKey: string,
  push: FakePushService,
  topic: string,
  extra: Record<string, unknown> = {},
) {
  const client = push.subscribe();
  const subscription = {
    type: 'web-push',
    pushResource: client.pushResource,
    publicKey: client.publicKey,
    authSecret: client.authSecret,
  };
  const res = await h.request('POST', `/v1/topics/${topic}/registrations`, {
    token: apiKey,
    body: { subscription, ...extra },
  });
  return { client, res };
}

export async function startHarness(
  env: Record<string, string> = {},
  roles?: Roles,
  redis?: RedisServer,
): Promise<Harness> {
  const ownRedis = redis ?? (await RedisServer.start());
  return startOn({ REDIS_URL: ownRedis.url }, env, roles, ownRedis, async () => {
    if (!redis) await ownRedis.stop();
  });
}

/**
 * The same app on a Redis Cluster (test/support/redis-cluster.ts) through REDIS_CLUSTER_NODES.
 * The cluster belongs to the caller: `close()` leaves it running. `redis` is not usable here.
 */
export async function startClusterHarness(
  cluster: RedisCluster,
  env: Record<string, string> = {},
  roles?: Roles,
): Promise<Harness> {
  return startOn(
    { REDIS_CLUSTER_NODES: cluster.nodesEnv },
    env,
    roles,
    undefined as unknown as RedisServer,
    async () => {},
  );
}

async function startOn(
  backend: Record<string, string>,
  env: Record<string, string>,
  roles: Roles | undefined,
  ownRedis: RedisServer,
  stopRedis: () => Promise<void>,
): Promise<Harness> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-e2e-'));
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: String(port),
    ...backend,
    DAVPUSH_DATA_DIR: dataDir,
    DAVPUSH_ADMIN_TOKEN: ADMIN_TOKEN,
    DAVPUSH_VAPID_SUBJECT: 'mailto:ops@davpush.test',
    DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: '1',
    DAVPUSH_COALESCE_MS: '50',
    DAVPUSH_LOG_LEVEL: 'warn',
    ...env,
  });
  const app = await createDavpushApp(config, roles, false);
  await app.listen(port, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${port}`;
  const request = requester(baseUrl);
  return {
    app,
    redis: ownRedis,
    baseUrl,
    request,
    async createTenant(name = 'calendar.example') {
      const res = await request('POST', '/v1/tenants', { token: ADMIN_TOKEN, body: { name } });
      if (res.status !== 201) throw new Error(`tenant create: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; apiKey: string };
    },
    async close() {
      await app.close();
      await stopRedis();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    // Quick at first, then gentle: the process polling also runs the app and the fake services.
    await new Promise((r) => setTimeout(r, Math.min(250, 25 * 2 ** Math.floor(i / 4))));
  }
}
