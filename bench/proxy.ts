import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'undici';
import { RedisServer } from '../test/support/redis-server';
import { Child, DIST, freePort, median, sleep, until, type Figure } from './lib';

/**
 * The WebDAV-Push proxy's overhead: GET, PUT and a Depth-1 PROPFIND asking for the push properties,
 * through davpush's proxy vs straight to the same Radicale, alternating in the same run. No push
 * registrations exist, so PUTs measure the pass-through (a registered collection adds one Depth-0
 * PROPFIND per write, after the client's answer). Targets: throughput ≥ 0.8× direct for GET and
 * PUT, ≥ 0.6× for PROPFIND; median added latency ≤ 1 ms for GET and PUT (sequential requests).
 *
 * `node dist-bench/bench/proxy.js` runs this part alone.
 */
const USER = 'bench';
const PASSWORD = 'bench-pw';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const CALENDARS = 10;
const THROUGHPUT_REQUESTS = 600;
const CONCURRENCY = 8;
const LATENCY_REQUESTS = 150;

const PUSH_PROPFIND =
  '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:P="https://bitfire.at/webdav-push"><D:prop><D:resourcetype/><D:displayname/><P:transports/><P:topic/><P:supported-triggers/></D:prop></D:propfind>';
const event = (n: number) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:bench-${n}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260102T100000Z\r\nDTEND:20260102T110000Z\r\nSUMMARY:Bench ${n}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

interface Op {
  method: string;
  path: (i: number) => string;
  headers: Record<string, string>;
  body?: (i: number) => string;
  expect: number;
}

const OPS: Record<'GET' | 'PUT' | 'PROPFIND', Op> = {
  GET: { method: 'GET', path: () => '/bench/cal0/fixed.ics', headers: {}, expect: 200 },
  PUT: {
    method: 'PUT',
    path: (i) => `/bench/cal1/e${i % 50}.ics`,
    headers: { 'content-type': 'text/calendar' },
    body: (i) => event(i % 50),
    expect: 201,
  },
  PROPFIND: {
    method: 'PROPFIND',
    path: () => '/bench/',
    headers: { depth: '1', 'content-type': 'application/xml' },
    body: () => PUSH_PROPFIND,
    expect: 207,
  },
};

async function call(pool: Pool, op: Op, i: number): Promise<void> {
  const res = await pool.request({
    method: op.method as 'GET',
    path: op.path(i),
    headers: { authorization: AUTH, ...op.headers },
    body: op.body?.(i),
  });
  await res.body.dump();
  // PUT of an existing object answers 204.
  if (res.statusCode !== op.expect && !(op.method === 'PUT' && res.statusCode === 204))
    throw new Error(`${op.method}: ${res.statusCode}`);
}

async function throughput(pool: Pool, op: Op): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < THROUGHPUT_REQUESTS) await call(pool, op, next++);
    }),
  );
  return THROUGHPUT_REQUESTS / ((performance.now() - started) / 1000);
}

async function latencyMs(pool: Pool, op: Op): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < LATENCY_REQUESTS; i++) {
    const t = performance.now();
    await call(pool, op, i);
    times.push(performance.now() - t);
  }
  return median(times);
}

export async function proxyBench(rounds: number): Promise<Figure[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-bench-proxy-'));
  fs.writeFileSync(path.join(work, 'users'), `${USER}:${PASSWORD}\n`);
  const radicalePort = await freePort();
  const radicale = new Child(
    spawn(
      '/usr/bin/radicale',
      [
        '--config',
        '',
        '--server-hosts',
        `127.0.0.1:${radicalePort}`,
        '--storage-filesystem-folder',
        path.join(work, 'collections'),
        '--auth-type',
        'htpasswd',
        '--auth-htpasswd-filename',
        path.join(work, 'users'),
        '--auth-htpasswd-encryption',
        'plain',
        '--auth-delay',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const redis = await RedisServer.start();
  const proxyPort = await freePort();
  const app = Child.node(path.join(DIST, 'apps/davpush/src/main.js'), [], {
    PORT: String(await freePort()),
    REDIS_URL: redis.url,
    DAVPUSH_DATA_DIR: work,
    DAVPUSH_ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef0123456789',
    DAVPUSH_VAPID_SUBJECT: 'mailto:bench@davpush.test',
    DAVPUSH_LOG_LEVEL: 'warn',
    // The banner (with the proxy tenant) is a text block in pretty mode, a JSON log line otherwise.
    DAVPUSH_LOG_FORMAT: 'pretty',
    DAVPUSH_PROXY_UPSTREAM: `http://127.0.0.1:${radicalePort}`,
    DAVPUSH_PROXY_PORT: String(proxyPort),
    DAVPUSH_PROXY_POLL_SECONDS: '0',
  });
  const direct = new Pool(`http://127.0.0.1:${radicalePort}`, { connections: CONCURRENCY });
  const proxied = new Pool(`http://127.0.0.1:${proxyPort}`, { connections: CONCURRENCY });
  try {
    await until(() => listening(radicalePort), 15_000, 'radicale');
    await app.waitFor('proxy tenant:');
    for (let c = 0; c < CALENDARS; c++) {
      const res = await direct.request({
        method: 'MKCALENDAR',
        path: `/bench/cal${c}/`,
        headers: { authorization: AUTH },
      });
      await res.body.dump();
    }
    await call(direct, { ...OPS.PUT, path: () => '/bench/cal0/fixed.ics' }, 0);
    for (let i = 0; i < 20; i++) await call(direct, OPS.PUT, i);

    const figures: Figure[] = [];
    for (const name of ['GET', 'PUT', 'PROPFIND'] as const) {
      const op = OPS[name];
      await throughput(proxied, op); // warm-up
      await throughput(direct, op);
      const ours: number[] = [];
      const base: number[] = [];
      const oursLatency: number[] = [];
      const baseLatency: number[] = [];
      for (let r = 1; r <= rounds; r++) {
        ours.push(await throughput(proxied, op));
        base.push(await throughput(direct, op));
        if (name !== 'PROPFIND') {
          oursLatency.push(await latencyMs(proxied, op));
          baseLatency.push(await latencyMs(direct, op));
        }
        process.stdout.write(
          `proxy ${name} round ${r}: proxied ${ours.at(-1)!.toFixed(0)}/s, direct ${base.at(-1)!.toFixed(0)}/s` +
            (oursLatency.length
              ? `; median latency ${oursLatency.at(-1)!.toFixed(2)} vs ${baseLatency.at(-1)!.toFixed(2)} ms`
              : '') +
            '\n',
        );
        await sleep(50);
      }
      const o = median(ours);
      const b = median(base);
      const target = name === 'PROPFIND' ? 0.6 : 0.8;
      const what = name === 'PROPFIND' ? 'Depth-1 PROPFIND of a home set with push properties' : name;
      figures.push({
        name: `Proxy ${what} throughput (${CONCURRENCY} concurrent)`,
        unit: 'req/s',
        ours: Math.round(o),
        baseline: Math.round(b),
        baselineName: 'straight to Radicale',
        ratio: Math.round((o / b) * 100) / 100,
        target,
        runs: { ours: ours.map(Math.round), baseline: base.map(Math.round) },
      });
      if (oursLatency.length) {
        const added = median(oursLatency) - median(baseLatency);
        figures.push({
          name: `Proxy ${name} added median latency (sequential; target ≤ 1 ms)`,
          unit: 'µs',
          ours: Math.round(added * 1000),
          baseline: Math.round(median(baseLatency) * 1000),
          baselineName: 'direct median latency',
          ratio: Math.round((median(oursLatency) / median(baseLatency)) * 100) / 100,
          target: 0,
          runs: {
            ours: oursLatency.map((x) => Math.round(x * 1000)),
            baseline: baseLatency.map((x) => Math.round(x * 1000)),
          },
        });
      }
    }
    return figures;
  } finally {
    await direct.close();
    await proxied.close();
    await app.stop();
    radicale.proc.kill('SIGTERM');
    await radicale.exited;
    await redis.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

if (require.main === module) {
  void proxyBench(Number(process.env.BENCH_ROUNDS ?? 3))
    .then((figures) => {
      for (const f of figures)
        process.stdout.write(
          `${f.name}: ${f.ours} ${f.unit} vs ${f.baseline} ${f.unit} (${f.baselineName}) → ${f.ratio}×${f.target ? ` (target ≥ ${f.target}×)` : ''}\n`,
        );
    })
    .catch((err: Error) => {
      process.stderr.write(`bench failed: ${err.stack}\n`);
      process.exit(1);
    });
}
