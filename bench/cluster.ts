import { RedisCluster } from '../test/support/redis-cluster';
import {
  INGEST_CLIENTS,
  PER_TOPIC,
  TOPICS,
  deliveryRound,
  ingestRound,
  metered,
  postRound,
  register,
  settled,
  type Side,
} from './cluster-rounds';
import { Deployment, RedisNodes, TcpRedis, grownBytes } from './deployment';
import { figure, sleep, until, type Child, type Figure } from './lib';

/**
 * Cluster figures of `npm run bench` (alone: `BENCH_ONLY=cluster`). davpush runs as it is deployed:
 * an API process and worker processes (`node bin/start.js api|worker`), once on a local Redis
 * Cluster of 3 masters with 1 replica each (test/support/redis-cluster.ts, REDIS_CLUSTER_NODES) and
 * once on a single redis-server configured like one of its nodes (REDIS_URL, TCP, AOF). Measured,
 * rounds alternating single / cluster with one worker / cluster with two workers:
 *   - Web Push delivery throughput, the workload of the main Web Push figure (2,000 pushes over 100
 *     topics, event → push service 201): cluster with one worker vs single Redis, target ≥ 0.8×;
 *     two worker processes vs one on the cluster (information: the machine has few cores);
 *   - ingest, 4 clients × batches of 1,000 events: cluster vs single Redis (information);
 *   - what a deployment is sized from (docs/scaling.md): Redis memory per registration, per accepted
 *     event, per event waiting for its fan-out; CPU time of the worker processes per push, of the
 *     API process per ingested event, of the Redis masters per push and per event.
 * What one round posts and how it is metered: bench/cluster-rounds.ts.
 */
export interface ClusterBenchContext {
  sink: Child;
  sinkOrigin: string;
  work: string;
  caPath: string;
  adminToken: string;
  rounds: number;
  /** Batches of 1,000 events per ingest client and round. */
  ingestBatches: number;
}

export async function clusterBench(ctx: ClusterBenchContext): Promise<Figure[]> {
  const started: { stop(): Promise<void> }[] = [];
  const sides: Side[] = [];
  try {
    const single = await TcpRedis.start();
    started.push(single);
    const cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 });
    started.push(cluster);
    for (const [name, redisEnv, addresses] of [
      ['single', { REDIS_URL: single.url }, [{ host: '127.0.0.1', port: single.port }]],
      ['cluster', { REDIS_CLUSTER_NODES: cluster.nodesEnv }, cluster.nodes],
    ] as const) {
      const deployment = await Deployment.start({
        redisEnv,
        work: `${ctx.work}/${name}`,
        caPath: ctx.caPath,
        adminToken: ctx.adminToken,
      });
      started.unshift(deployment); // stopped before the Redis it uses
      sides.push({ name, deployment, nodes: RedisNodes.connect([...addresses]) });
    }
    return await measure(ctx, sides[0]!, sides[1]!);
  } finally {
    for (const s of sides) s.nodes.close();
    for (const s of started) await s.stop();
  }
}

async function measure(ctx: ClusterBenchContext, single: Side, cluster: Side): Promise<Figure[]> {
  const total = TOPICS * PER_TOPIC;
  const sizes = new Map<string, { registration: number; queued: number }>();
  for (const side of [single, cluster]) {
    const before = await side.nodes.dataMemory();
    await register(ctx.sinkOrigin, side.deployment);
    const registration = ((await side.nodes.dataMemory()) - before) / total;
    // No worker yet: each event's fan-out job waits in the queue next to the event's record. The
    // second round is measured: the first also pays for what a topic keeps once (known topics…).
    const delivered = await ctx.sink.ask('count');
    await postRound(side.deployment, 'queued-a');
    await sleep(200); // past the coalescing window (20 ms): the next event is a leading one again
    const queuedBefore = await side.nodes.dataMemory();
    await postRound(side.deployment, 'queued-b');
    const queued = ((await side.nodes.dataMemory()) - queuedBefore) / TOPICS;
    sizes.set(side.name, { registration, queued });
    await side.deployment.addWorker();
    // Those events delivered: the worker's warm-up (JIT, connections, VAPID header cache).
    await until(
      async () => (await ctx.sink.ask('count')) - delivered >= total,
      120_000,
      `${side.name}: queued events delivered`,
    );
    await settled(ctx.sink);
    process.stdout.write(
      `cluster bench, ${side.name}: ${Math.round(registration)} B per registration, ${Math.round(queued)} B per event waiting for fan-out, keys per master ${(await side.nodes.keysPerMaster()).join('/')}\n`,
    );
  }

  const ingest = { single: [] as number[], cluster: [] as number[] };
  const ingestCost = new Map<string, { bytes: number; apiCpu: number; redisCpu: number }>();
  for (let r = 0; r <= ctx.rounds; r++) {
    for (const side of [single, cluster]) {
      const m = await metered(side, () => ingestRound(side.deployment, r, ctx.ingestBatches));
      const events = INGEST_CLIENTS * ctx.ingestBatches * 1000;
      if (r === 0) continue; // warm-up
      ingest[side.name as 'single' | 'cluster'].push(events / m.seconds);
      ingestCost.set(side.name, { bytes: m.bytes / events, apiCpu: m.apiCpu / events, redisCpu: m.redisCpu / events });
    }
    if (r > 0)
      process.stdout.write(
        `cluster ingest round ${r}: single ${ingest.single.at(-1)!.toFixed(0)}/s, cluster ${ingest.cluster.at(-1)!.toFixed(0)}/s\n`,
      );
  }

  const pushes = { single: [] as number[], cluster: [] as number[], two: [] as number[] };
  const workerCpu = { single: [] as number[], cluster: [] as number[], two: [] as number[] };
  const redisCpu = { single: [] as number[], cluster: [] as number[], two: [] as number[] };
  const deliver = async (side: Side, key: keyof typeof pushes, round: string) => {
    const m = await metered(side, () => deliveryRound(ctx.sink, side.deployment, round));
    pushes[key].push(total / m.seconds);
    workerCpu[key].push(m.workerCpu / total);
    redisCpu[key].push(m.redisCpu / total);
  };
  for (let r = 1; r <= ctx.rounds; r++) {
    await deliver(single, 'single', `s${r}`);
    await deliver(cluster, 'cluster', `c${r}`);
    await cluster.deployment.addWorker();
    await deliveryRound(ctx.sink, cluster.deployment, `w${r}`); // the new worker's warm-up
    await deliver(cluster, 'two', `t${r}`);
    await cluster.deployment.removeWorker();
    process.stdout.write(
      `cluster web-push round ${r}: single ${pushes.single.at(-1)!.toFixed(0)}/s, cluster ${pushes.cluster.at(-1)!.toFixed(0)}/s, cluster with 2 workers ${pushes.two.at(-1)!.toFixed(0)}/s\n`,
    );
  }

  // What a delivered event keeps for 24 h: one more round, keys that expire in more than an hour.
  const kept = new Map<string, number>();
  for (const side of [single, cluster]) {
    const before = await side.nodes.longLived();
    await deliveryRound(ctx.sink, side.deployment, `k-${side.name}`);
    await sleep(1000); // the fan-out's settling is done
    kept.set(side.name, grownBytes(before, await side.nodes.longLived()) / TOPICS);
  }

  const s = sizes.get('single')!;
  const c = sizes.get('cluster')!;
  const si = ingestCost.get('single')!;
  const ci = ingestCost.get('cluster')!;
  const us = (xs: number[]) => xs.map((x) => x * 1e6);
  const shape = `${total.toLocaleString('en')} pushes over ${TOPICS} topics, event → push service 201`;
  return [
    figure(
      `Cluster (3 masters + 3 replicas), 1 worker process: Web Push throughput, ${shape}`,
      'pushes/s',
      pushes.cluster,
      pushes.single,
      'single Redis, 1 worker process',
      0.8,
    ),
    figure(
      'Cluster, 2 worker processes vs 1 (same cluster, information: 2-core machine)',
      'pushes/s',
      pushes.two,
      pushes.cluster,
      'cluster, 1 worker process',
      0,
    ),
    figure(
      `Cluster ingest, ${INGEST_CLIENTS} clients × batches of 1,000 events (one API process)`,
      'events/s',
      ingest.cluster,
      ingest.single,
      'single Redis',
      0,
    ),
    figure(
      'CPU of the worker processes per push (cluster, 1 worker)',
      'µs',
      us(workerCpu.cluster),
      us(workerCpu.single),
      'single Redis',
      0,
    ),
    figure(
      'CPU of the worker processes per push (cluster, 2 workers)',
      'µs',
      us(workerCpu.two),
      us(workerCpu.cluster),
      'cluster, 1 worker',
      0,
    ),
    figure(
      'CPU of the Redis masters per push (cluster, 1 worker)',
      'µs',
      us(redisCpu.cluster),
      us(redisCpu.single),
      'single Redis',
      0,
    ),
    figure(
      'CPU of the API process per ingested event (cluster)',
      'µs',
      [ci.apiCpu * 1e6],
      [si.apiCpu * 1e6],
      'single Redis',
      0,
    ),
    figure(
      'CPU of the Redis masters per ingested event (cluster)',
      'µs',
      [ci.redisCpu * 1e6],
      [si.redisCpu * 1e6],
      'single Redis',
      0,
    ),
    figure(
      `Redis memory per Web Push registration on the cluster (${total.toLocaleString('en')}, sum over masters)`,
      'B',
      [c.registration],
      [s.registration],
      'single Redis',
      0,
    ),
    figure(
      'Redis memory per accepted event on the cluster (its 24 h record; topic without registrations)',
      'B',
      [ci.bytes],
      [si.bytes],
      'single Redis',
      0,
    ),
    figure(
      `Redis memory per delivered event on the cluster (${PER_TOPIC} registrations; MEMORY USAGE of the keys kept > 1 h: record, dispatch record)`,
      'B',
      [kept.get('cluster')!],
      [kept.get('single')!],
      'single Redis',
      0,
    ),
    figure(
      'Redis memory per event waiting for its fan-out on the cluster (record + queued job)',
      'B',
      [c.queued],
      [s.queued],
      'single Redis',
      0,
    ),
  ];
}
