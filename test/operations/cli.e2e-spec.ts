import { createECDH, randomBytes } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type AppConfig } from '@davpush/config';
import { VapidService } from '@davpush/gateways';
import { JobPublisher, QueueName } from '@davpush/queue';
import { CoreModule } from '@davpush/runtime';
import { RegistrationStore, TenantStore } from '@davpush/storage';
import { runCli, type OpenContext } from '../../apps/davpush/src/cli/cli';
import { RedisServer } from '../support/redis-server';

/**
 * `npx davpush …` in-process: the same runCli the bin runs, against a context of CoreModule on a
 * private redis-server (the bin's own context factory adds only prepareRuntime and a Redis PING).
 */
describe('operator CLI', () => {
  let redis: RedisServer;
  let config: AppConfig;
  let shared: INestApplicationContext;
  let opened = 0;

  const open: OpenContext = async () => {
    opened++;
    const app = await NestFactory.createApplicationContext(CoreModule.forRoot(config), { logger: false });
    return { app, close: () => app.close() };
  };

  async function cli(argv: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) }, open);
    return { code, out, err };
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    config = loadConfig({
      REDIS_URL: redis.url,
      DAVPUSH_DATA_DIR: redis.dir,
      DAVPUSH_VAPID_SUBJECT: 'mailto:ops@davpush.test',
    });
    shared = await NestFactory.createApplicationContext(CoreModule.forRoot(config), { logger: false });
  });
  afterAll(async () => {
    await shared?.close();
    await redis?.stop();
  });

  it('--help lists every command, exit 0; usage mistakes exit 2 without touching Redis', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of [
      'try [--url URL]',
      'tenant create NAME',
      'tenant list',
      'vapid show',
      'vapid rotate',
      'dlq list',
      'dlq replay [ID…]',
      'stats',
    ])
      expect(help.out).toContain(c);
    expect((await cli(['dlq', '--help'])).out).toContain('dlq replay');
    expect((await cli(['help', 'tenant', 'create'])).out).toContain('tenant create NAME');
    const before = opened;
    for (const argv of [
      [],
      ['frobnicate'],
      ['tenant'],
      ['tenant', 'delete'],
      ['tenant', 'create'],
      ['tenant', 'list', 'extra'],
      ['dlq', 'list', '--limit', 'lots'],
      ['stats', '--verbose'],
      ['try', '--url', 'ftp://x'],
      ['try', 'extra'],
    ]) {
      const r = await cli(argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.err).toMatch(/^davpush: .+\n\nusage: davpush/);
    }
    expect(opened).toBe(before);
  });

  it('tenant create prints a working API key once; tenant list shows the tenant but no key', async () => {
    const created = await cli(['tenant', 'create', 'cal.example.org', '--json']);
    expect(created.code).toBe(0);
    const t = JSON.parse(created.out) as { id: string; name: string; apiKey: string };
    expect(t.name).toBe('cal.example.org');
    expect(await shared.get(TenantStore).authenticate(t.apiKey)).toBe(t.id);
    const list = await cli(['tenant', 'list']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(
      new RegExp(`^ID\\s+CREATED\\s+REVOKED\\s+NAME\\n${t.id}\\s+\\S+\\s+-\\s+cal\\.example\\.org\\n`),
    );
    expect(list.out).not.toContain(t.apiKey);
    expect((await cli(['tenant', 'create', 'bad\u0007name'])).code).toBe(2);
  });

  it('tenant rotate-key, revoke and delete: old keys stop working at once', async () => {
    const t = JSON.parse((await cli(['tenant', 'create', 'rotating', '--json'])).out) as { id: string; apiKey: string };
    const rotated = await cli(['tenant', 'rotate-key', t.id, '--json']);
    expect(rotated.code).toBe(0);
    const { apiKey } = JSON.parse(rotated.out) as { apiKey: string };
    const store = shared.get(TenantStore);
    expect(await store.authenticate(t.apiKey)).toBeUndefined();
    expect(await store.authenticate(apiKey)).toBe(t.id);
    expect((await cli(['tenant', 'revoke', t.id])).code).toBe(0);
    expect(await store.authenticate(apiKey)).toBeUndefined();
    expect((await cli(['tenant', 'rotate-key', t.id])).code).toBe(1);
    expect((await cli(['tenant', 'list'])).out).toMatch(new RegExp(`${t.id}\\s+\\S+\\s+\\d{4}-\\d\\d-\\d\\dT`));
    const deleted = await cli(['tenant', 'delete', t.id, '--json']);
    expect(JSON.parse(deleted.out)).toEqual({ id: t.id, registrationsRemoved: 0 });
    expect(await store.get(t.id)).toBeUndefined();
    expect((await cli(['tenant', 'delete', 'ffffffffffffffffffffffff'])).code).toBe(1);
  });

  it('vapid show prints the key clients subscribe with', async () => {
    const r = await cli(['vapid', 'show']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`public key: ${(await shared.get(VapidService).current()).publicKey}`);
    expect(r.out).toContain('mailto:ops@davpush.test');
  });

  it('stats shows registrations per transport and jobs per queue', async () => {
    await shared.get(JobPublisher).queue(QueueName.Fanout).add('fanout', { tenantId: 't', topic: 'x' });
    const r = await cli(['stats']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/registrations \(live\): 0\n\s+web-push\s+0\n\s+fcm\s+0\n/);
    expect(r.out).toMatch(/\n\s+fanout\s+1\s+0\s+0\s+0\s+0\s+\d+\.\ds\n/);
    const json = JSON.parse((await cli(['stats', '--json'])).out) as { queues: { name: string }[] };
    expect(json.queues.map((q) => q.name)).toEqual(Object.values(QueueName));
  });

  it('dlq list and dlq replay work on the dead-letter queue', async () => {
    const delivery = {
      dispatchId: 'd1',
      registrationId: 'r1',
      tenantId: 't',
      topic: 'cal',
      kinds: ['content' as const],
      urgency: 'normal' as const,
      deadline: Date.now() + 60_000,
      acceptedAt: Date.now(),
    };
    await shared.get(JobPublisher).deadLetter({
      queue: QueueName.DeliverWebPush,
      transport: 'web-push',
      reason: 'rejected: 400',
      delivery,
      failedAt: Date.now(),
    });
    const list = await cli(['dlq', 'list', '--json']);
    expect(list.code).toBe(0);
    const items = JSON.parse(list.out) as { id: string; reason: string }[];
    expect(items).toHaveLength(1);
    expect(items[0]!.reason).toBe('rejected: 400');
    expect((await cli(['dlq', 'list'])).out).toMatch(/^ID\s+FAILED\s+TRANSPORT\s+REASON\n/);
    const replay = await cli(['dlq', 'replay', items[0]!.id]);
    expect(replay).toMatchObject({ code: 0, out: 'replayed 1 dead letter(s)\n' });
    expect((await cli(['dlq', 'list'])).out).toBe('the dead-letter queue is empty\n');
    expect(await shared.get(JobPublisher).queue(QueueName.DeliverWebPush).getWaitingCount()).toBe(1);
  });

  it('vapid rotate switches to a new key pair', async () => {
    const before = (await shared.get(VapidService).current()).publicKey;
    const r = await cli(['vapid', 'rotate', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { notified: number; publicKey: string };
    expect(result.notified).toBe(0);
    expect(result.publicKey).not.toBe(before);
    expect((await cli(['vapid', 'show'])).out).toContain(result.publicKey);
  });

  it('vapid rotate never removes a registration this process refused to contact (only a 404/410 is gone)', async () => {
    // The CLI's own SSRF guard refuses loopback (DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS is off here):
    // that is our refusal, not the push service saying the subscription is gone (RFC 8030 §8.2).
    const store = shared.get(RegistrationStore);
    const subscription = {
      type: 'web-push' as const,
      pushResource: 'https://127.0.0.1:9/push/x',
      publicKey: createECDH('prime256v1').generateKeys('base64url'),
      authSecret: randomBytes(16).toString('base64url'),
      contentEncoding: 'aes128gcm' as const,
    };
    const { id } = await store.upsert(
      't-rotate',
      'cal',
      { subscription, trigger: { contentUpdate: { depth: '1' } }, expiresAt: Date.now() + 86_400_000 },
      undefined,
    );
    const r = await cli(['vapid', 'rotate']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^VAPID key rotated: 0 subscriber\(s\) notified, 0 gone \(removed\), 1 failed \(kept\)\n/);
    expect(JSON.parse((await cli(['vapid', 'rotate', '--json'])).out)).toMatchObject({
      notified: 0,
      gone: 0,
      failed: 1,
    });
    expect(await store.get(id)).toBeDefined();
  });

  it('reports a runtime failure with exit 1', async () => {
    const r = await runCli(
      ['tenant', 'list'],
      { out: () => undefined, err: (t) => expect(t).toBe('davpush: tenant list: cannot reach Redis\n') },
      () => Promise.reject(new Error('cannot reach Redis')),
    );
    expect(r).toBe(1);
  });

  it('a Redis that does not answer: the command fails naming DAVPUSH_REDIS_COMMAND_TIMEOUT_MS, exit 1', async () => {
    const app = await NestFactory.createApplicationContext(
      CoreModule.forRoot(config.with({ redis: { ...config.redis, commandTimeoutMs: 300 } })),
      { logger: false },
    );
    let err = '';
    let code = -1;
    redis.freeze();
    try {
      // The context is open already: what times out is the command's own read (TenantStore).
      code = await runCli(['tenant', 'list'], { out: () => undefined, err: (t) => (err += t) }, async () => ({
        app,
        close: async () => undefined,
      }));
    } finally {
      redis.thaw();
      // Only now: BullMQ's connections, without a command timeout, wait for a frozen Redis to close.
      await app.close();
    }
    expect(code).toBe(1);
    expect(err).toBe(
      'davpush: tenant list: Redis did not answer within 300 ms (DAVPUSH_REDIS_COMMAND_TIMEOUT_MS); the request may or may not have taken effect, retry shortly\n',
    );
  });
});
