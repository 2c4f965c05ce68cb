import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, type Figure } from './lib';

/**
 * `npm run bench:sizing`: the deployment sizing of docs/scaling.md, computed from the figures of the
 * last `npm run bench` (bench/results/latest.json, or the file given as argument). Prints the
 * markdown tables the document shows, so that after a rerun the document is updated by pasting.
 * Assumptions are the constants below; each figure used is named by the bench row it comes from.
 */
const A = {
  registrations: 10_000_000,
  peakEventsPerSecond: 20_000,
  /** Registrations a changed topic has (devices syncing that collection). */
  pushesPerEvent: 2,
  /** Daily mean event rate = peak / this: the 24 h event records hold a day at the mean rate. */
  peakToMean: 3,
  /** Backlog the Redis memory must absorb (workers or a push service stalled), at peak rate. */
  backlogSeconds: 60,
  /** used_memory × this = memory to provision: fragmentation and the copy-on-write of AOF rewrites. */
  memoryHeadroom: 1.5,
  /** Data per master (GiB): beyond this a failover's full resync and an AOF rewrite get slow. */
  gibPerMaster: 25,
  /** Share of one core a Redis master (one thread for commands) may be busy at peak. */
  redisBusy: 0.5,
  /** Share of a core a Node process may be busy at peak. */
  nodeBusy: 0.7,
  /** vCPUs per worker process: its event loop and one DAVPUSH_ENCRYPT_THREADS thread. */
  workerVcpus: 2,
  /** Round trip of a push to a real push service over the internet (s), and the busiest origin's share. */
  pushLatencySeconds: 0.1,
  busiestOriginShare: 0.7,
  /** Sockets per origin of the worker's HTTPS agent (libs/gateways/src/http/safe-http.client.ts). */
  socketsPerOrigin: 128,
};

interface Input {
  what: string;
  value: number;
  unit: string;
  from: string;
}

function main(): void {
  const file = process.argv[2] ?? path.join(ROOT, 'bench/results/latest.json');
  const run = JSON.parse(fs.readFileSync(file, 'utf8')) as { at: string; figures: Figure[] };
  const missing: string[] = [];
  const pick = (pattern: RegExp, side: 'ours' | 'baseline' = 'ours'): { value: number; from: string } => {
    const f = run.figures.find((x) => pattern.test(x.name));
    if (!f) missing.push(pattern.source);
    return {
      value: f ? f[side] : NaN,
      from: f ? `${f.name}${side === 'baseline' ? ` (baseline: ${f.baselineName})` : ''}` : 'not in this run',
    };
  };
  const larger = (a: { value: number; from: string }, b: { value: number; from: string }) =>
    Number.isNaN(b.value) || a.value >= b.value ? a : b;
  const inputs: Record<string, Input> = {
    registration: {
      what: 'Redis memory per registration (the larger of the two rows)',
      unit: 'B',
      ...larger(
        pick(/^Redis memory per Web Push registration \(/),
        pick(/^Redis memory per Web Push registration on the cluster/),
      ),
    },
    event: {
      what: 'Redis memory per accepted event, kept 24 h (the larger of the two rows)',
      unit: 'B',
      ...larger(
        pick(/^Redis memory per accepted event on the cluster/),
        pick(/^Redis memory per delivered event on the cluster/),
      ),
    },
    queued: {
      what: 'Redis memory per event waiting for its fan-out',
      unit: 'B',
      ...pick(/^Redis memory per event waiting for its fan-out/),
    },
    workerCpu: {
      what: 'worker CPU per push',
      unit: 'µs',
      ...pick(/^CPU of the worker processes per push \(cluster, 1 worker\)/),
    },
    redisPush: { what: 'Redis masters CPU per push', unit: 'µs', ...pick(/^CPU of the Redis masters per push/) },
    apiCpu: { what: 'API CPU per ingested event', unit: 'µs', ...pick(/^CPU of the API process per ingested event/) },
    redisEvent: {
      what: 'Redis masters CPU per ingested event',
      unit: 'µs',
      ...pick(/^CPU of the Redis masters per ingested event/),
    },
    ingest: {
      what: 'ingest of one API process (cluster, shared machine)',
      unit: 'events/s',
      ...pick(/^Cluster ingest/),
    },
  };
  const v = (k: string) => inputs[k]!.value;
  const pushes = A.peakEventsPerSecond * A.pushesPerEvent;
  const gib = (bytes: number) => bytes / 2 ** 30;
  const memRegistrations = A.registrations * v('registration');
  const dailyEvents = (A.peakEventsPerSecond / A.peakToMean) * 86_400;
  const memEvents = dailyEvents * v('event');
  const memBacklog = A.peakEventsPerSecond * A.backlogSeconds * v('queued');
  const memTotal = (memRegistrations + memEvents + memBacklog) * A.memoryHeadroom;
  const mastersByMemory = Math.ceil(gib(memTotal) / A.gibPerMaster);
  const redisCores = (pushes * v('redisPush') + A.peakEventsPerSecond * v('redisEvent')) / 1e6;
  const mastersByCpu = Math.ceil(redisCores / A.redisBusy);
  const workerCores = (pushes * v('workerCpu')) / 1e6 / A.nodeBusy;
  const inFlight = pushes * A.pushLatencySeconds * A.busiestOriginShare;
  // Enough processes for the CPU, and for the busiest origin's pushes in flight within each one's sockets.
  const workersByCpu = Math.ceil(workerCores / A.workerVcpus);
  const workersBySockets = Math.ceil(inFlight / A.socketsPerOrigin);
  const workers = Math.max(workersByCpu, workersBySockets);
  const apiCores = (A.peakEventsPerSecond * v('apiCpu')) / 1e6 / A.nodeBusy;
  const perProcess = Math.ceil(inFlight / workers);
  const n = (x: number, digits = 0) =>
    Number.isFinite(x) ? x.toLocaleString('en', { maximumFractionDigits: digits }) : '?';

  const out = [
    `Sizing from \`${path.relative(ROOT, file)}\` (run of ${run.at}); assumptions in bench/sizing.ts.`,
    '',
    '| input | value | bench row |',
    '|---|---|---|',
    ...Object.values(inputs).map((i) => `| ${i.what} | ${n(i.value)} ${i.unit} | ${i.from} |`),
    '',
    `| for ${n(A.registrations)} registrations, ${n(A.peakEventsPerSecond)} events/s at peak (${n(pushes)} pushes/s) | figure | how |`,
    '|---|---|---|',
    `| Redis: registrations | ${n(gib(memRegistrations), 1)} GiB | ${n(A.registrations)} × ${n(v('registration'))} B |`,
    `| Redis: event records of 24 h | ${n(gib(memEvents), 1)} GiB | ${n(dailyEvents)} events a day (mean = peak / ${A.peakToMean}) × ${n(v('event'))} B |`,
    `| Redis: a ${A.backlogSeconds} s backlog at peak | ${n(gib(memBacklog), 1)} GiB | ${n(A.peakEventsPerSecond * A.backlogSeconds)} events × ${n(v('queued'))} B |`,
    `| Redis memory to provision (masters) | ${n(gib(memTotal), 0)} GiB | sum × ${A.memoryHeadroom} (fragmentation, AOF rewrite copy-on-write) |`,
    `| Redis CPU of the masters | ${n(redisCores, 1)} cores | ${n(pushes)} × ${n(v('redisPush'))} µs + ${n(A.peakEventsPerSecond)} × ${n(v('redisEvent'))} µs |`,
    `| Redis masters (each + 1 replica) | **${n(Math.max(mastersByMemory, mastersByCpu))}** | max(${mastersByMemory} by memory at ≤ ${A.gibPerMaster} GiB each, ${mastersByCpu} by CPU at ≤ ${A.redisBusy * 100} % busy) |`,
    `| worker CPU | ${n(workerCores, 1)} cores | ${n(pushes)} × ${n(v('workerCpu'))} µs at ${A.nodeBusy * 100} % busy |`,
    `| pushes in flight to the busiest origin | ${n(inFlight)} | ${n(pushes)}/s × ${A.pushLatencySeconds * 1000} ms × ${A.busiestOriginShare * 100} % (Little's law) |`,
    `| worker processes | **${n(workers)}** | max(${workersByCpu} by CPU at ${A.workerVcpus} vCPU each (event loop + 1 encryption thread), ${workersBySockets} by the busiest origin's pushes in flight at ≤ ${A.socketsPerOrigin} sockets each) |`,
    `| DAVPUSH_ORIGIN_CONCURRENCY per worker | **${n(perProcess)}** | ${n(inFlight)} / ${n(workers)} processes; at most ${A.socketsPerOrigin} sockets per origin per process |`,
    `| API CPU for ingest | ${n(apiCores, 1)} cores | ${n(A.peakEventsPerSecond)} × ${n(v('apiCpu'))} µs at ${A.nodeBusy * 100} % busy |`,
    `| API processes for ingest | **${n(Math.ceil(apiCores) + 1)}** | one core each, + 1 to lose one; measured ${n(v('ingest'))} events/s per process here |`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (missing.length > 0)
    process.stderr.write(`figures not in ${file} (run the full \`npm run bench\`): ${missing.join('; ')}\n`);
}

main();
