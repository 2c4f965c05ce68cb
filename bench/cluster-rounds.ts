import { WebPushClient } from '../test/support/webpush-client';
import type { Deployment, RedisNodes } from './deployment';
import { sleep, until, type Child } from './lib';

/**
 * The rounds of the cluster benchmark (bench/cluster.ts), the same on either side, single Redis or
 * cluster: what each posts to a deployment (registrations, events), when it counts as done (the
 * bench push service has accepted every push), and what it cost (wall time, CPU, Redis memory).
 */

export const TOPICS = 100;
export const PER_TOPIC = 20;
export const INGEST_CLIENTS = 4;

/** One deployment under measurement and the Redis masters it runs on. */
export interface Side {
  name: string;
  deployment: Deployment;
  nodes: RedisNodes;
}

/** 2,000 registrations over 100 topics on the bench push service, 32 requests at a time. */
export async function register(sinkOrigin: string, d: Deployment): Promise<void> {
  const all: { topic: string; c: WebPushClient }[] = [];
  for (let t = 0; t < TOPICS; t++)
    for (let i = 0; i < PER_TOPIC; i++)
      all.push({ topic: `cl-${t}`, c: WebPushClient.create(`${sinkOrigin}/push/cl-${t}-${i}`) });
  for (let i = 0; i < all.length; i += 32) {
    await Promise.all(
      all.slice(i, i + 32).map(({ topic, c }) =>
        d.call('POST', `/v1/topics/${topic}/registrations`, d.apiKey, {
          subscription: {
            type: 'web-push',
            pushResource: c.pushResource,
            publicKey: c.publicKey,
            authSecret: c.authSecret,
          },
        }),
      ),
    );
  }
}

/** Waits until the push service has accepted nothing more for a second. */
export async function settled(sink: Child): Promise<void> {
  for (let last = -1, now = await sink.ask('count'); now !== last; last = now, now = await sink.ask('count'))
    await sleep(1000);
}

/** One event per topic, in one request. */
export async function postRound(d: Deployment, round: string): Promise<void> {
  await d.call('POST', '/v1/events', d.apiKey, {
    events: Array.from({ length: TOPICS }, (_, t) => ({ topic: `cl-${t}`, changes: ['content'], syncToken: round })),
  });
}

/** One event per topic, then waits until the push service has accepted every push. */
export async function deliveryRound(sink: Child, d: Deployment, round: string): Promise<void> {
  const before = await sink.ask('count');
  await postRound(d, round);
  // Polled every 5 ms (lib.ts `until`): the figure is within a few percent of exact.
  await until(async () => (await sink.ask('count')) - before >= TOPICS * PER_TOPIC, 120_000, `${round}: deliveries`);
}

/** `clients` callers posting `batches` batches of 1,000 events each to 100 topics without registrations. */
export async function ingestRound(d: Deployment, round: number, batches: number): Promise<void> {
  await Promise.all(
    Array.from({ length: INGEST_CLIENTS }, async (_client, c) => {
      for (let b = 0; b < batches; b++) {
        const events = Array.from({ length: 1000 }, (_, i) => ({
          topic: `ingest-${i % 100}`,
          changes: ['content'],
          syncToken: `r${round}c${c}b${b}i${i}`,
        }));
        await d.call('POST', '/v1/events', d.apiKey, { events });
      }
    }),
  );
}

/** Runs `work` and returns its wall time and what it cost: CPU seconds and Redis memory (masters). */
export async function metered(side: Side, work: () => Promise<void>) {
  const cpu0 = side.deployment.cpu();
  const redis0 = await side.nodes.cpuSeconds();
  const mem0 = await side.nodes.dataMemory();
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = side.deployment.cpu();
  const redisCpu = (await side.nodes.cpuSeconds()) - redis0;
  return {
    seconds,
    apiCpu: cpu1.api - cpu0.api,
    workerCpu: cpu1.workers - cpu0.workers,
    redisCpu,
    bytes: (await side.nodes.dataMemory()) - mem0,
  };
}
