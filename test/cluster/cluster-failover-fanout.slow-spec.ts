import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_PREFIX } from '@davpush/queue';
import { FakePushService } from '../support/fake-push-service';
import { RedisCluster, type ClusterNode } from '../support/redis-cluster';
import type { WebPushClient } from '../support/webpush-client';
import { eventually, type Harness } from '../e2e/harness';
import { useClusterWorld } from './cluster-world';

const REGISTRATIONS = 2000;
const PROBE_TOPICS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * DAVPUSH_DURABILITY=replicated on 3 masters with 2 replicas each, queues in 3 shards: a master
 * holding the fan-out's data is SIGKILLed while a push goes to 2,000 registrations. One of its
 * replicas is promoted (Redis Cluster spec, "Replica election and promotion":
 * https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/), the other follows
 * it, and davpush carries on without a restart: every event answered 202 is delivered (at most one
 * duplicate per registration), the API answers only 202 or 503 + Retry-After meanwhile, and
 * readiness is 503 while a master is missing. Two replicas per master, so that writes can still
 * be replicated once one replica has become the master (docs/durability.md).
 */
describe('a master killed in the middle of a fan-out (DAVPUSH_DURABILITY=replicated)', () => {
  const w = useClusterWorld(
    {
      DAVPUSH_DURABILITY: 'replicated',
      DAVPUSH_DURABILITY_TIMEOUT_MS: '500',
      DAVPUSH_QUEUE_SHARDS: '3',
      DAVPUSH_COALESCE_MS: '0',
      // Jobs that were running on the dead master's shard are taken up again quickly (stalled-job check).
      DAVPUSH_JOB_LOCK_MS: '3000',
    },
    { masters: 3, replicasPerMaster: 2 },
  );
  let cluster: RedisCluster;
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;
  beforeAll(() => {
    ({ cluster, h, push, apiKey } = w);
  });

  const register = async (topic: string): Promise<WebPushClient> => {
    const c = push.subscribe();
    const body = {
      subscription: {
        type: 'web-push',
        pushResource: c.pushResource,
        publicKey: c.publicKey,
        authSecret: c.authSecret,
      },
    };
    // As a client does: a 503 replication-timeout (a replica slow to acknowledge on a busy machine)
    // says repeating is safe; the repeat of one that was stored after all is an update (204).
    for (let attempt = 1; ; attempt++) {
      const res = await h.request('POST', `/v1/topics/${topic}/registrations`, { token: apiKey, body });
      if (res.status === 201 || (attempt > 1 && res.status === 204)) return c;
      if (res.status !== 503 || attempt === 10) throw new Error(`registration: ${res.status} ${await res.text()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const delivered = (c: WebPushClient) => push.received(push.idOf(c)).filter((r) => r.status === 201);
  const syncTokens = (c: WebPushClient) =>
    delivered(c).map((r) => /sync-token>([^<]+)</.exec(push.decryptRecord(r))?.[1]);

  it('delivers every accepted event, answers only 202 or 503 + Retry-After, and readiness follows the failover', async () => {
    const started = Date.now();
    let victimNode: ClusterNode | undefined;
    try {
      await run();
    } finally {
      // The operator brings the dead node back: it rejoins as a replica of the promoted one.
      if (victimNode) {
        await cluster.restartNode(victimNode);
        await cluster.waitUntilOk();
      }
    }

    async function run(): Promise<void> {
      const big: WebPushClient[] = [];
      for (let i = 0; i < REGISTRATIONS; i += 25)
        big.push(
          ...(await Promise.all(Array.from({ length: Math.min(25, REGISTRATIONS - i) }, () => register('fo-big')))),
        );
      const probes = await Promise.all(Array.from({ length: PROBE_TOPICS }, (_, i) => register(`fo-probe-${i}`)));
      const registered = Date.now();

      const victim = await masterHoldingTheFanout(cluster);
      expect(victim.replicas).toHaveLength(2);
      victimNode = victim.master;

      // Slow pushes (150 ms each), so the kill falls in the middle of the fan-out.
      push.setLatency(150);
      expect(
        (
          await h.request('POST', '/v1/events', {
            token: apiKey,
            body: { topic: 'fo-big', changes: ['content'], syncToken: 'big-1' },
          })
        ).status,
      ).toBe(202);
      await eventually(
        async () => big.filter((c) => delivered(c).length > 0).length >= 200,
        20_000,
        '200 pushes of the fan-out',
      );
      const beforeKill = big.filter((c) => delivered(c).length > 0).length;
      await cluster.killNode(victim.master);
      const killedAt = Date.now();

      // Meanwhile: events on the probe topics, and readiness, every 150 ms until a replica took over and things settled.
      const answers: { status: number; retryAfter: string | null; token: string; topic: number }[] = [];
      const readiness: number[] = [];
      let promotedAt = 0;
      for (let n = 0; ; n++) {
        const topic = n % PROBE_TOPICS;
        const token = `p${n}`;
        const [res, ready] = await Promise.all([
          h.request('POST', '/v1/events', {
            token: apiKey,
            body: { topic: `fo-probe-${topic}`, changes: ['content'], syncToken: token },
          }),
          h.request('GET', '/health/ready'),
        ]);
        answers.push({ status: res.status, retryAfter: res.headers.get('retry-after'), token, topic });
        readiness.push(ready.status);
        if (
          !promotedAt &&
          (await Promise.all(victim.replicas.map((r) => cluster.cli(r, 'ROLE')))).some((role) =>
            role.startsWith('master'),
          )
        )
          promotedAt = Date.now();
        const recentOk = answers.slice(-PROBE_TOPICS).every((a) => a.status === 202);
        if (promotedAt && recentOk && ready.status === 200 && answers.length >= PROBE_TOPICS) break;
        if (Date.now() - killedAt > 30_000)
          throw new Error(`no recovery within 30 s: ${JSON.stringify(answers.map((a) => a.status))}`);
        await sleep(150);
      }
      const recoveredAt = Date.now();

      // Only 202 or 503 + Retry-After, never 500, never anything else.
      expect(answers.filter((a) => a.status !== 202 && a.status !== 503)).toEqual([]);
      for (const a of answers.filter((x) => x.status === 503)) expect(Number(a.retryAfter)).toBeGreaterThan(0);
      // Readiness was 503 while the master was missing, and is 200 again.
      expect(readiness).toContain(503);
      expect(readiness.at(-1)).toBe(200);

      // Every accepted event is delivered: the big fan-out to every registration, each accepted probe to its topic.
      await eventually(
        async () => big.every((c) => delivered(c).length >= 1),
        45_000,
        'the fan-out to reach every registration',
      );
      const accepted = answers.filter((a) => a.status === 202);
      // An accepted event whose fan-out had not run when its master died is fanned out by the
      // stranded-topic recovery (MaintenanceProcessor.recoverStranded: every 15 s, for events older
      // than 2 × the coalescing window + 30 s), so this waits past that.
      await eventually(
        async () => accepted.every((a) => syncTokens(probes[a.topic]!).includes(a.token)),
        75_000,
        'every accepted probe event delivered',
      ).catch((err: Error) => {
        const missing = accepted.filter((a) => !syncTokens(probes[a.topic]!).includes(a.token));
        throw new Error(
          `${err.message}; not delivered: ${JSON.stringify(missing)}; answers: ${JSON.stringify(answers.map((a) => `${a.token}:${a.status}`))}`,
        );
      });
      await sleep(1000);
      const perRegistration = big.map((c) => delivered(c).length);
      const duplicates = perRegistration.filter((n) => n > 1).length;
      expect(Math.max(...perRegistration)).toBeLessThanOrEqual(2);

      const figures = {
        registrations: REGISTRATIONS,
        pushedBeforeKill: beforeKill,
        registrationsWithADuplicate: duplicates,
        probeEvents: answers.length,
        probe202: accepted.length,
        probe503: answers.length - accepted.length,
        readiness503: readiness.filter((s) => s === 503).length,
        msToPromotion: promotedAt - killedAt,
        msToRecovery: recoveredAt - killedAt,
        msRegistering: registered - started,
        victimHeldQueueShard: victim.heldQueue,
      };
      process.stdout.write(`cluster failover figures: ${JSON.stringify(figures)}\n`);
    }
  }, 180_000);
});

/**
 * The master that holds the fan-out's data, found by what it stores rather than by key names: the
 * one with the largest collection (the topic's registration index, 2,000 members) outside the
 * queues' keys. Returns it with its replicas and whether it also holds a queue shard.
 */
async function masterHoldingTheFanout(
  cluster: RedisCluster,
): Promise<{ master: ClusterNode; replicas: ClusterNode[]; heldQueue: boolean }> {
  const roles = await Promise.all(
    cluster.nodes.map(async (n) => ({ n, role: (await cluster.cli(n, 'ROLE')).split('\n') })),
  );
  const masters = roles.filter(({ role }) => role[0] === 'master').map(({ n }) => n);
  let best: { master: ClusterNode; size: number; heldQueue: boolean } | undefined;
  for (const master of masters) {
    const client = new Redis({ host: master.host, port: master.port, lazyConnect: true });
    await client.connect();
    try {
      let largest = 0;
      let heldQueue = false;
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
        cursor = next;
        const data = batch.filter((k) => !k.startsWith(QUEUE_PREFIX.slice(0, -1)));
        heldQueue ||= data.length < batch.length;
        const types = await Promise.all(data.map((k) => client.type(k)));
        const sizes = await Promise.all(
          data.map((k, i) => {
            const t = types[i];
            if (t === 'zset') return client.zcard(k);
            if (t === 'set') return client.scard(k);
            if (t === 'hash') return client.hlen(k);
            if (t === 'list') return client.llen(k);
            return Promise.resolve(0);
          }),
        );
        largest = Math.max(largest, ...sizes);
      } while (cursor !== '0');
      if (largest >= REGISTRATIONS && (!best || largest > best.size)) best = { master, size: largest, heldQueue };
    } finally {
      client.disconnect();
    }
  }
  if (!best) throw new Error('no master holds a collection of the fan-out');
  const replicas = roles
    .filter(({ role }) => role[0] === 'slave' && Number(role[2]) === best.master.port)
    .map(({ n }) => n);
  return { master: best.master, replicas, heldQueue: best.heldQueue };
}
