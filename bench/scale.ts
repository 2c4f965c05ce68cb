import * as fs from 'node:fs';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { WebPushClient } from '../test/support/webpush-client';
import { Child, ROOT, median, ratioOf, sleep, until, type Figure } from './lib';
import { dataMemory } from '../test/support/redis-memory';

/** What the figures below need of the running service and its surroundings. */
export interface BenchContext {
  call: (method: string, url: string, token: string, body?: unknown) => Promise<unknown>;
  apiKey: string;
  redisUrl: string;
  sink: Child;
  sinkOrigin: string;
  work: string;
  caPath: string;
  payload: string;
  vapid: { publicKey: string; privateKey: string };
  /** The service's process id (its CPU time is read for the latency figures). */
  pid?: number;
}

/** Registrations through the HTTP API, `width` at a time; endpoints about 150 bytes like real ones. */
export async function registerMany(
  ctx: BenchContext,
  topic: string,
  n: number,
  pathOf: (i: number) => string,
  width = 64,
): Promise<WebPushClient[]> {
  const clients = Array.from({ length: n }, (_, i) => WebPushClient.create(`${ctx.sinkOrigin}${pathOf(i)}`));
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < clients.length) {
        const c = clients[next++]!;
        const body = {
          subscription: {
            type: 'web-push',
            pushResource: c.pushResource,
            publicKey: c.publicKey,
            authSecret: c.authSecret,
          },
        };
        // A keep-alive connection the service closed just as it was reused (seen at 100,000: all 64
        // at once, "other side closed") is tried again; registering the same subscription twice
        // keeps one registration.
        for (let attempt = 1; ; attempt++) {
          try {
            await ctx.call('POST', `/v1/topics/${topic}/registrations`, ctx.apiKey, body);
            break;
          } catch (err) {
            if (attempt === 3 || !(err instanceof TypeError)) throw err;
            await sleep(200);
          }
        }
      }
    }),
  );
  return clients;
}

/**
 * `used_memory` less the client, replication and AOF buffers, which fill with the stream of
 * commands rather than with data: the same figure as libs/storage/src/registration-memory.int-spec.ts
 * and test/cluster/cluster-spread.e2e-spec.ts.
 */
const usedMemory = dataMemory;

export function rawChild(ctx: BenchContext, args: string[]): Child {
  return Child.node(path.join(ROOT, 'dist-bench/bench/raw-web-push.js'), args, { NODE_EXTRA_CA_CERTS: ctx.caPath });
}

/**
 * One topic with `n` registrations on one push service: event → every push accepted, vs the raw
 * sender to the same subscriptions; and the Redis memory the registrations took, vs one hash and one
 * sorted-set member per registration holding the same data.
 */
export async function bigFanout(ctx: BenchContext, n: number, rounds: number): Promise<Figure[]> {
  const redis = new Redis(ctx.redisUrl);
  try {
    const before = await usedMemory(redis);
    // Endpoints of about 150 bytes, like FCM's and Mozilla's.
    const clients = await registerMany(
      ctx,
      'big',
      n,
      (i) => `/push/big/${'x'.repeat(100)}${String(i).padStart(12, '0')}`,
    );
    const perRegistration = (await usedMemory(redis)) - before;
    const subsFile = path.join(ctx.work, 'big-subs.json');
    fs.writeFileSync(subsFile, JSON.stringify(clients.map((c) => c.subscription)));
    const baselineBytes = await hashAndZsetBytes(redis, clients);
    const ours: number[] = [];
    const raw: number[] = [];
    let growth = 0;
    for (let r = 1; r <= rounds; r++) {
      const count = await ctx.sink.ask('count');
      const memBefore = await usedMemory(redis);
      const started = performance.now();
      await ctx.call('POST', '/v1/events', ctx.apiKey, {
        topic: 'big',
        changes: ['content'],
        syncToken: `big${r}`,
        urgency: 'high',
      });
      await until(async () => (await ctx.sink.ask('count')) - count >= n, 30 * 60_000, 'the big fan-out');
      ours.push(n / ((performance.now() - started) / 1000));
      await sleep(500);
      growth = Math.max(growth, (await usedMemory(redis)) - memBefore);
      const child = rawChild(ctx, ['throughput', subsFile, ctx.payload, ctx.vapid.publicKey, ctx.vapid.privateKey]);
      await child.waitFor('done', 30 * 60_000);
      raw.push(n / (Number(/done ([\d.]+)/.exec(child.output)![1]) / 1000));
      process.stdout.write(
        `big fan-out round ${r}: ours ${ours.at(-1)!.toFixed(0)}/s, raw ${raw.at(-1)!.toFixed(0)}/s, Redis +${(growth / 1e6).toFixed(1)} MB\n`,
      );
    }
    const o = median(ours);
    const b = median(raw);
    const bytes = Math.round(perRegistration / n);
    return [
      {
        name: `One topic, ${n.toLocaleString('en')} registrations on one push service (Redis after the fan-out: +${Math.round(growth / n)} B per registration)`,
        unit: 'pushes/s',
        ours: Math.round(o),
        baseline: Math.round(b),
        baselineName: 'raw sender: VAPID cached, web-push encrypt, keep-alive, 64 in flight',
        ratio: ratioOf(o, b),
        target: 0.85,
        runs: { ours: ours.map(Math.round), baseline: raw.map(Math.round) },
      },
      {
        name: `Redis memory per Web Push registration (${n.toLocaleString('en')}, endpoint ~150 B)`,
        unit: 'B',
        ours: bytes,
        baseline: baselineBytes,
        baselineName: 'one hash + one sorted-set member',
        ratio: ratioOf(bytes, baselineBytes),
        target: 0,
        targetText: `≤ 500 B ${bytes <= 500 ? '✔' : '✘'}`,
        met: bytes <= 500,
        runs: { ours: [bytes], baseline: [baselineBytes] },
      },
    ];
  } finally {
    redis.disconnect();
  }
}

/** The plainest record of the same registrations: a hash of endpoint, keys and expiry, and an index entry. */
async function hashAndZsetBytes(redis: Redis, clients: WebPushClient[]): Promise<number> {
  const before = await usedMemory(redis);
  const expires = Date.now() + 7 * 86_400_000;
  for (let i = 0; i < clients.length; i += 1000) {
    const p = redis.pipeline();
    clients.slice(i, i + 1000).forEach((c, j) => {
      const id = `bench-baseline-${String(i + j).padStart(10, '0')}`;
      p.hset(
        `{bench}:reg:${id}`,
        'endpoint',
        c.pushResource,
        'p256dh',
        c.publicKey,
        'auth',
        c.authSecret,
        'expires',
        expires,
      );
      p.zadd('{bench}:topic', expires, id);
    });
    await p.exec();
  }
  const bytes = Math.round(((await usedMemory(redis)) - before) / clients.length);
  for (let i = 0; i < clients.length; i += 1000) {
    const ids = clients
      .slice(i, i + 1000)
      .map((_, j) => `{bench}:reg:bench-baseline-${String(i + j).padStart(10, '0')}`);
    await redis.del(...ids);
  }
  await redis.del('{bench}:topic');
  return bytes;
}

/**
 * Ingest: `clients` concurrent callers each posting `batches` batches of 1,000 events (100 topics
 * without registrations), vs BullMQ `addBulk` of the same number of jobs on the same Redis.
 */
export async function ingest(ctx: BenchContext, rounds: number, batches: number, clients = 4): Promise<Figure[]> {
  const redis = new Redis(ctx.redisUrl);
  const connection = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('bench-ingest', { connection, prefix: 'bench' });
  const total = clients * batches * 1000;
  const ours: number[] = [];
  const raw: number[] = [];
  let bytesPerEvent = 0;
  let bytesPerJob = 0;
  try {
    for (let r = 0; r <= rounds; r++) {
      const memBefore = await usedMemory(redis);
      let started = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async (_client, c) => {
          for (let b = 0; b < batches; b++) {
            const events = Array.from({ length: 1000 }, (_, i) => ({
              topic: `ingest-${i % 100}`,
              changes: ['content'],
              syncToken: `r${r}c${c}b${b}i${i}`,
            }));
            await ctx.call('POST', '/v1/events', ctx.apiKey, { events });
          }
        }),
      );
      const oursRate = total / ((performance.now() - started) / 1000);
      bytesPerEvent = Math.round(((await usedMemory(redis)) - memBefore) / total);
      const jobsBefore = await usedMemory(redis);
      started = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async (_client, c) => {
          for (let b = 0; b < batches; b++) {
            await queue.addBulk(
              Array.from({ length: 1000 }, (_, i) => ({
                name: 'event',
                data: {
                  tenantId: 'bench',
                  topic: `ingest-${i % 100}`,
                  changes: ['content'],
                  syncToken: `r${r}c${c}b${b}i${i}`,
                },
              })),
            );
          }
        }),
      );
      const rawRate = total / ((performance.now() - started) / 1000);
      bytesPerJob = Math.round(((await usedMemory(redis)) - jobsBefore) / total);
      await queue.obliterate({ force: true });
      if (r === 0) continue; // warm-up
      ours.push(oursRate);
      raw.push(rawRate);
      process.stdout.write(
        `ingest round ${r}: ours ${oursRate.toFixed(0)}/s, addBulk ${rawRate.toFixed(0)}/s, ${bytesPerEvent} B per event\n`,
      );
    }
  } finally {
    await queue.close();
    connection.disconnect();
    redis.disconnect();
  }
  const o = median(ours);
  const b = median(raw);
  return [
    {
      name: `Ingest, ${clients} clients × batches of 1,000 events (100 topics without registrations)`,
      unit: 'events/s',
      ours: Math.round(o),
      baseline: Math.round(b),
      baselineName: 'BullMQ addBulk, same batches',
      ratio: ratioOf(o, b),
      target: 0.5,
      targetText: `≥ 10,000/s and ≥ 0.5× ${o >= 10_000 && o / b >= 0.5 ? '✔' : '✘'}`,
      met: o >= 10_000 && o / b >= 0.5,
      runs: { ours: ours.map(Math.round), baseline: raw.map(Math.round) },
    },
    {
      name: 'Redis memory per accepted event (its status record, kept 24 h)',
      unit: 'B',
      ours: bytesPerEvent,
      baseline: bytesPerJob,
      baselineName: 'one BullMQ job from addBulk',
      ratio: ratioOf(bytesPerEvent, bytesPerJob),
      target: 0,
      runs: { ours: [bytesPerEvent], baseline: [bytesPerJob] },
    },
  ];
}
