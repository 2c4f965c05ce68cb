import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import webpush from 'web-push';
import { FakeFcm } from '../test/fcm/fake-fcm';
import { createTestServiceAccount } from '../test/fcm/test-service-account';
import { RedisServer } from '../test/support/redis-server';
import { ensureTestCa } from '../test/support/test-ca';
import { WebPushClient } from '../test/support/webpush-client';
import { Child, DIST, ROOT, figure, freePort, inParallel, type Figure } from './lib';
import { bigFanout, ingest, rawChild, type BenchContext } from './scale';
import { latency } from './latency';
import { proxyBench } from './proxy';
import { clusterBench } from './cluster';
import { fcmBench } from './fcm';
import { report } from './report';

/**
 * `npm run bench`: davpush's whole path against baselines run side by side in the same run, on the
 * same machine, against the same local services. Ratios, not absolute times: machines are shared.
 *   1. Web Push: HTTP event → queue → worker → local HTTPS push service accepted (2,000 pushes over
 *      100 topics) vs naive `webpush.sendNotification`, 64 in flight as the issue measured it
 *      (re-signs VAPID per message), target
 *      ≥ 3×, and vs the raw limit (bench/raw-web-push.ts), target ≥ 0.85×.
 *   1a. At scale (bench/scale.ts): one topic with 100,000 registrations (BENCH_SCALE=small: 10,000)
 *      on one push service vs the raw limit; Redis bytes per registration; ingest of 4 clients ×
 *      batches of 1,000 vs BullMQ addBulk; event → push latency at 200 events/s vs the raw sender
 *      (bench/latency.ts).
 *   1b. On a Redis Cluster (bench/cluster.ts): API and worker processes on 3 masters + 3 replicas vs
 *      on one Redis: Web Push throughput with one worker (target ≥ 0.8×) and two, ingest, and the
 *      memory and CPU figures docs/scaling.md sizes a deployment from.
 *   2. FCM (bench/fcm.ts): HTTP event → queue → worker → sendEach batches → local FCM (2,000 messages
 *      over 4 topics) vs direct firebase-admin `sendEach` batches of 500 to the same fake. Target ≥ 0.8×.
 *   3. The WebDAV-Push proxy's overhead (bench/proxy.ts): GET, PUT and Depth-1 PROPFIND through it vs
 *      straight to Radicale. Targets: ≥ 0.8× (GET, PUT), ≥ 0.6× (PROPFIND), ≤ 1 ms added latency.
 * Rounds alternate ours/baseline; the median of each is compared. The figures go to
 * bench/results/latest.{json,md} (bench/report.ts).
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ONLY = process.env.BENCH_ONLY; // 'web-push' | 'scale' | 'cluster' | 'fcm' | 'proxy' (profiling)
const SMALL = process.env.BENCH_SCALE === 'small';
const BIG_FANOUT = SMALL ? 10_000 : 100_000;
const WEB_PUSH_TOPICS = 100;
const PER_TOPIC = 20;
const ADMIN = 'bench-admin-token-0123456789abcdef0123456789';

async function main(): Promise<void> {
  const ca = ensureTestCa();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-bench-'));
  const redis = await RedisServer.start();
  // Web Push goes to a minimal HTTPS push service in its own process (bench/push-sink.ts).
  const sink = Child.node(path.join(ROOT, 'dist-bench/bench/push-sink.js'), [], { NODE_EXTRA_CA_CERTS: ca.caCertPath });
  await sink.waitFor('listening');
  const sinkOrigin = `https://127.0.0.1:${/listening (\d+)/.exec(sink.output)![1]}`;
  const account = createTestServiceAccount('davpush-bench');
  const fcm = await FakeFcm.start({
    projectId: account.projectId,
    clientEmail: account.clientEmail,
    publicKey: account.publicKey,
  });
  const startApp = async (redisUrl: string, env: Record<string, string> = {}) => {
    const port = await freePort();
    const child = Child.node(
      path.join(DIST, 'apps/davpush/src/main.js'),
      [],
      {
        PORT: String(port),
        REDIS_URL: redisUrl,
        DAVPUSH_DATA_DIR: work,
        DAVPUSH_ADMIN_TOKEN: ADMIN,
        DAVPUSH_VAPID_SUBJECT: 'mailto:bench@davpush.test',
        DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: '1',
        DAVPUSH_COALESCE_MS: '20',
        DAVPUSH_INGEST_RATE: '1000000',
        DAVPUSH_MAX_REGISTRATIONS_PER_TOPIC: '1000000',
        DAVPUSH_LOG_LEVEL: 'warn',
        // The start-up banner ("… is listening on …") is printed in pretty mode at any level.
        DAVPUSH_LOG_FORMAT: 'pretty',
        DAVPUSH_FCM_CREDENTIALS: account.file,
        DAVPUSH_FCM_ENDPOINT: fcm.url,
        NODE_EXTRA_CA_CERTS: ca.caCertPath,
        ...env,
      },
      process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [],
    );
    await child.waitFor('listening on', 120_000);
    const base = `http://127.0.0.1:${port}`;
    const call = async (method: string, url: string, token: string, body?: unknown) => {
      const res = await fetch(base + url, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
      return res.status === 204 ? undefined : res.json();
    };
    const { apiKey } = (await call('POST', '/v1/tenants', ADMIN, { name: 'bench' })) as { apiKey: string };
    return { child, call, apiKey, base };
  };
  const figures: Figure[] = [];
  let app: Awaited<ReturnType<typeof startApp>> | undefined;
  try {
    const service = await startApp(redis.url);
    app = service;
    const { call, apiKey, base } = service;
    const register = async (topic: string, subscription: object) =>
      call('POST', `/v1/topics/${topic}/registrations`, apiKey, { subscription });

    // ---- Web Push ----
    const clients: { topic: string; c: WebPushClient }[] = [];
    for (let t = 0; t < WEB_PUSH_TOPICS; t++)
      for (let i = 0; i < PER_TOPIC; i++)
        clients.push({ topic: `wp-${t}`, c: WebPushClient.create(`${sinkOrigin}/push/${t}-${i}`) });
    await inParallel(clients, ({ topic, c }) =>
      register(topic, {
        type: 'web-push',
        pushResource: c.pushResource,
        publicKey: c.publicKey,
        authSecret: c.authSecret,
      }),
    );
    const total = clients.length;
    const subsFile = path.join(work, 'subs.json');
    fs.writeFileSync(subsFile, JSON.stringify(clients.map(({ c }) => c.subscription)));
    // The baseline signs with its own key pair: the fake push service does not check VAPID.
    const baselineKeys = webpush.generateVAPIDKeys();
    const payload =
      '<?xml version="1.0" encoding="UTF-8"?><push-message xmlns="https://bitfire.at/webdav-push" xmlns:D="DAV:"><topic>wp-0</topic><content-update><D:sync-token>bench</D:sync-token></content-update></push-message>';

    const context = (c: NonNullable<typeof app>, redisUrl: string): BenchContext => ({
      call: c.call,
      apiKey: c.apiKey,
      redisUrl,
      sink,
      sinkOrigin,
      work,
      caPath: ca.caCertPath,
      payload,
      vapid: baselineKeys,
      pid: c.child.proc.pid,
    });
    const ourWebPushRound = async (round: number) => {
      const before = await sink.ask('count');
      const started = performance.now();
      await call('POST', '/v1/events', apiKey, {
        events: Array.from({ length: WEB_PUSH_TOPICS }, (_, t) => ({
          topic: `wp-${t}`,
          changes: ['content'],
          syncToken: `r${round}`,
        })),
      });
      // Polled every 20 ms: the figure is within a few percent of exact.
      for (;;) {
        if ((await sink.ask('count')) - before >= total) break;
        if (performance.now() - started > 120_000) throw new Error('web push deliveries timed out');
        await new Promise((r) => setTimeout(r, 20));
      }
      return total / ((performance.now() - started) / 1000);
    };
    const naiveRound = async (mode: 'sequential' | 'concurrent') => {
      const before = await sink.ask('count');
      const child = Child.node(
        path.join(ROOT, 'dist-bench/bench/naive-web-push.js'),
        [subsFile, payload, baselineKeys.publicKey, baselineKeys.privateKey, mode],
        { NODE_EXTRA_CA_CERTS: ca.caCertPath },
      );
      await child.waitFor('done', 300_000);
      const ms = Number(/done ([\d.]+)/.exec(child.output)![1]);
      if ((await sink.ask('count')) - before < total) throw new Error('naive baseline lost pushes');
      return total / (ms / 1000);
    };
    const rawRound = async () => {
      const before = await sink.ask('count');
      const child = rawChild(context(service, redis.url), [
        'throughput',
        subsFile,
        payload,
        baselineKeys.publicKey,
        baselineKeys.privateKey,
      ]);
      await child.waitFor('done', 300_000);
      if ((await sink.ask('count')) - before < total) throw new Error('raw baseline lost pushes');
      return total / (Number(/done ([\d.]+)/.exec(child.output)![1]) / 1000);
    };
    if (!ONLY || ONLY === 'web-push') {
      await ourWebPushRound(0); // warm-up: JIT, connections, VAPID cache
      const ours: number[] = [];
      const naive: number[] = [];
      const raw: number[] = [];
      for (let r = 1; r <= ROUNDS; r++) {
        ours.push(await ourWebPushRound(r));
        naive.push(await naiveRound('concurrent'));
        raw.push(await rawRound());
        process.stdout.write(
          `web-push round ${r}: ours ${ours.at(-1)!.toFixed(0)}/s, naive ${naive.at(-1)!.toFixed(0)}/s, raw ${raw.at(-1)!.toFixed(0)}/s\n`,
        );
      }
      figures.push(
        figure(
          'Web Push throughput, 2,000 pushes over 100 topics (event → push service 201)',
          'pushes/s',
          ours,
          naive,
          'naive webpush.sendNotification, 64 in flight',
          3,
        ),
      );
      figures.push(
        figure(
          'Web Push throughput, same rounds, against the raw limit',
          'pushes/s',
          ours,
          raw,
          'raw sender: VAPID cached, web-push encrypt, keep-alive, 64 in flight',
          0.85,
        ),
      );
    }
    if (!ONLY || ONLY === 'scale') {
      const scaleRounds = SMALL ? 2 : 3;
      // BENCH_PART=latency: the latency figures alone (profiling the delivery path).
      const latencyOnly = process.env.BENCH_PART === 'latency';
      if (process.env.BENCH_PART !== 'fanout' && !latencyOnly)
        figures.push(...(await ingest(context(service, redis.url), scaleRounds, SMALL ? 2 : 5)));
      if (!latencyOnly) figures.push(...(await bigFanout(context(service, redis.url), BIG_FANOUT, scaleRounds)));
      if (process.env.BENCH_PART === 'fanout') return;
      // Latency with the default coalescing window, on a service and Redis of its own.
      const latRedis = await RedisServer.start();
      const latApp = await startApp(latRedis.url, { DAVPUSH_COALESCE_MS: '1000' });
      try {
        figures.push(...(await latency(context(latApp, latRedis.url), 200, SMALL ? 5 : 15, 3, 1000)));
      } finally {
        await latApp.child.stop();
        await latRedis.stop();
      }
    }
    if (!ONLY || ONLY === 'cluster') {
      figures.push(
        ...(await clusterBench({
          sink,
          sinkOrigin,
          work,
          caPath: ca.caCertPath,
          adminToken: ADMIN,
          rounds: ROUNDS,
          ingestBatches: SMALL ? 2 : 5,
        })),
      );
    }
    if (process.env.BENCH_METRICS) {
      const text = await (await fetch(`${base}/metrics`)).text();
      process.stdout.write(
        text
          .split('\n')
          .filter(
            (l) =>
              /davpush_(push_request_seconds|event_to_accepted_seconds)_(bucket|sum|count)/.test(l) &&
              !/le="(0\.01|0\.025|2\.5|5|10|30|60|300|1800|\+Inf)"/.test(l),
          )
          .join('\n') + '\n',
      );
    }
    if (ONLY && ONLY !== 'fcm' && ONLY !== 'proxy') return;
    figures.push(
      await fcmBench({
        call,
        apiKey,
        fcm,
        credentialsFile: account.file,
        work,
        caPath: ca.caCertPath,
        payload,
        rounds: ROUNDS,
      }),
    );
    if (!ONLY || ONLY === 'proxy') figures.push(...(await proxyBench(ROUNDS)));
  } finally {
    await app?.child.stop();
    await fcm.close();
    await sink.stop();
    await redis.stop();
    account.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
    // Also after a partial run (BENCH_ONLY, BENCH_PART): what was measured is reported.
    if (figures.length > 0) report(figures, ROUNDS, SMALL);
  }
}

void main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack}\n`);
  process.exit(1);
});
