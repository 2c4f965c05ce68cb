import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { QUEUE_PREFIX, QueueName } from '@davpush/queue';
import { RedisServer } from '../support/redis-server';
import { processesMatching, ServiceProcess, type JsonLine } from './service-process';

const SHUTDOWN_TIMEOUT_MS = 4000;
/** Process exit and reaping on a busy 2-core machine. */
const SLACK_MS = 1500;
const FRAMEWORK = ['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication'];
const msg = (l: JsonLine) => (typeof l.message === 'string' ? l.message : String(l.message.msg));

/** What every stop must leave: the last line says so, nothing but JSON lines, no process left behind. */
function expectCleanStop(s: ServiceProcess, redisSocket?: string): void {
  const lines = s.json();
  expect(msg(lines.at(-1)!)).toMatch(/stopped$/);
  expect(s.nonJson()).toEqual([]);
  expect(processesMatching(s.nodePid)).toEqual([]);
  expect(processesMatching(s.dataDir)).toEqual([]);
  expect(redisSocket ? processesMatching(redisSocket) : []).toEqual([]);
}

const redisSocketOf = (s: ServiceProcess) => String(s.banner()!.redis).replace(/^.*unix:\/\/(\S+).*$/, '$1');

/**
 * The real built service as an operator runs it: `npm start` (and the node process it execs),
 * started, probed, signalled in every way a terminal or an orchestrator does, and checked with the
 * process list afterwards. Each test gets its own data dir and so its own private redis-server.
 */
describe('starting and stopping the real process', () => {
  let running: ServiceProcess[] = [];
  const track = (s: ServiceProcess) => (running.push(s), s);
  afterEach(async () => {
    await Promise.all(running.map((s) => s.kill()));
    running = [];
    await RedisServer.stopAll();
    ServiceProcess.removeDataDirs(...fallbackDirs.splice(0));
  });
  const fallbackDirs: string[] = [];

  it('npm start: banner with the links, GET / lists them, warnings, no framework chatter; `davpush try` sees a push arrive decrypted; SIGTERM to npm stops it all', async () => {
    const s = track(
      await ServiceProcess.start({
        via: 'npm',
        env: { DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: '1', DAVPUSH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
      }),
    );
    const banner = s.banner()!;
    expect(banner.links).toEqual({
      docs: `${s.baseUrl}/docs`,
      openapi: `${s.baseUrl}/docs/openapi.json`,
      dashboard: `${s.baseUrl}/admin/queues`,
      metrics: `${s.baseUrl}/metrics`,
      ready: `${s.baseUrl}/health/ready`,
      live: `${s.baseUrl}/health/live`,
    });
    expect(banner.adminToken).toBe(`in ${path.join(s.dataDir, 'admin-token')}`);
    expect(banner.vapidPublicKey).toMatch(/^B[\w-]{86}$/);
    const warnings = s
      .json()
      .filter((l) => l.level === 'warn')
      .map(msg);
    expect(
      warnings.some((w) => w.startsWith('DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS is on: SSRF protection is off')),
    ).toBe(true);
    expect(warnings.some((w) => w.startsWith('DAVPUSH_VAPID_SUBJECT is not set'))).toBe(true);
    expect(s.json().filter((l) => FRAMEWORK.includes(l.context ?? ''))).toEqual([]);

    const home = await fetch(`${s.baseUrl}/`, { headers: { accept: 'application/json' } });
    expect(home.status).toBe(200);
    expect(((await home.json()) as { links: unknown }).links).toEqual(banner.links);
    const page = await fetch(`${s.baseUrl}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain(`<a href="${s.baseUrl}/admin/queues">`);

    // Every davpush_* counter has its known series from the start, at zero.
    const metrics = await (await fetch(`${s.baseUrl}/metrics`)).text();
    for (const series of [
      'davpush_events_accepted_total 0',
      'davpush_deliveries_total{transport="fcm",outcome="auth"} 0',
      'davpush_retries_total{transport="web-push",outcome="throttled"} 0',
      'davpush_registrations_pruned_total{transport="web-push",reason="failure-window"} 0',
      'davpush_dead_letters_total{transport="fcm",reason="expired"} 0',
    ]) {
      expect(metrics).toContain(series);
    }

    const tried = await promisify(execFile)(process.execPath, ['bin/davpush.js', 'try', '--json'], {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, PORT: String(s.port), DAVPUSH_DATA_DIR: s.dataDir },
    });
    const result = JSON.parse(tried.stdout) as {
      ok: boolean;
      pushMessage: string;
      vapid: { publicKey: string };
      event: { state: string; deliveries: { accepted: number } };
    };
    expect(result.ok).toBe(true);
    expect(result.pushMessage).toMatch(
      /<push-message xmlns="https:\/\/bitfire\.at\/webdav-push"[^>]*><topic>try-[0-9a-f]+<\/topic><content-update><D:sync-token>/,
    );
    expect(result.vapid.publicKey).toBe(banner.vapidPublicKey);
    expect(result.event).toMatchObject({ state: 'done', deliveries: { accepted: 1 } });

    const socket = redisSocketOf(s);
    expect(processesMatching(socket)).toHaveLength(1);
    await stopWithin(s, 'SIGTERM', 'npm');
    expectCleanStop(s, socket);
  }, 90_000);

  it('Ctrl-C in a terminal (SIGINT to the whole process group of `npm run start:api`) stops everything', async () => {
    const s = track(
      await ServiceProcess.start({
        role: 'api',
        via: 'npm',
        env: { DAVPUSH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
      }),
    );
    expect(s.banner()).toMatchObject({
      msg: `davpush api started on ${s.baseUrl}`,
      links: { docs: `${s.baseUrl}/docs`, dashboard: `${s.baseUrl}/admin/queues` },
    });
    const socket = redisSocketOf(s);
    await stopWithin(s, 'SIGINT', 'group');
    expect(s.json().filter((l) => msg(l) === 'shutting down')).toHaveLength(1);
    expectCleanStop(s, socket);
  }, 60_000);

  it('SIGINT to `npm run start:worker`: the worker banner lists probes and metrics, GET / too; it stops cleanly', async () => {
    const s = track(
      await ServiceProcess.start({
        role: 'worker',
        via: 'npm',
        env: { DAVPUSH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
      }),
    );
    expect(s.banner()!.links).toEqual({
      metrics: `${s.baseUrl}/metrics`,
      ready: `${s.baseUrl}/health/ready`,
      live: `${s.baseUrl}/health/live`,
    });
    expect(await (await fetch(`${s.baseUrl}/`)).json()).toEqual({
      service: 'davpush worker',
      links: { metrics: '/metrics', ready: '/health/ready', live: '/health/live' },
    });
    const socket = redisSocketOf(s);
    await stopWithin(s, 'SIGINT', 'npm');
    expectCleanStop(s, socket);
  }, 60_000);

  it('SIGHUP (the terminal closed) is a clean stop like SIGTERM: the stop line, and the private redis-server stopped too', async () => {
    const s = track(await ServiceProcess.start({ env: { DAVPUSH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } }));
    const socket = redisSocketOf(s);
    expect(processesMatching(socket)).toHaveLength(1);
    await stopWithin(s, 'SIGHUP', 'node');
    expect(s.json().find((l) => msg(l) === 'shutting down')?.message).toMatchObject({ signal: 'SIGHUP' });
    expectCleanStop(s, socket);
  }, 60_000);

  it.runIf(hasScript())(
    'a terminal closed under a running start (`npm start & disown`): it stops on the hang-up, no native stack trace, nothing left running',
    async () => {
      // script(1) gives the start a pseudo-terminal and closes it when its shell ends.
      const dataDir = ServiceProcess.dataDir();
      const err = path.join(dataDir, 'stderr.log');
      const port = await closedPort();
      const env = {
        ...process.env,
        PORT: String(port),
        DAVPUSH_WORKER_PORT: String(port),
        DAVPUSH_DATA_DIR: dataDir,
        DAVPUSH_LOG_FORMAT: 'json',
      };
      const cmd = `node bin/start.js davpush 2>${err} & disown; sleep 8`;
      await promisify(execFile)('script', ['-qec', cmd, '/dev/null'], {
        cwd: path.resolve(__dirname, '../..'),
        env,
        timeout: 30_000,
      });
      const until = Date.now() + 15_000;
      while (processesMatching(dataDir).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      const left = processesMatching(dataDir);
      for (const p of left) process.kill(p.pid, 'SIGKILL');
      expect(left).toEqual([]);
      expect(fs.readFileSync(err, 'utf8')).not.toMatch(/Assertion failed|Native stack trace/);
    },
    60_000,
  );

  it('a private redis-server left running by a start that crashed is adopted by the next start on that data dir, and stopped at its stop', async () => {
    const env = { DAVPUSH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) };
    const crashed = track(await ServiceProcess.start({ env }));
    const socket = redisSocketOf(crashed);
    crashed.signal('SIGKILL');
    await crashed.exitWithin(5000);
    expect(processesMatching(socket)).toHaveLength(1); // the crash left it behind
    const s = track(await ServiceProcess.start({ dataDir: crashed.dataDir, env }));
    expect(String(s.banner()!.redis)).toBe(
      `private redis-server (AOF) at unix://${socket}, adopted from an earlier start`,
    );
    // A second process on the same data dir while its owner runs only reuses it: the owner stops it.
    const worker = track(await ServiceProcess.start({ role: 'worker', dataDir: crashed.dataDir, env }));
    expect(String(worker.banner()!.redis)).toBe(`unix://${socket} (already running)`);
    await stopWithin(worker, 'SIGTERM', 'node');
    expect(processesMatching(socket)).toHaveLength(1);
    await stopWithin(s, 'SIGTERM', 'node');
    expectCleanStop(s, socket);
  }, 90_000);

  it('SIGTERM while Redis is unreachable still exits within DAVPUSH_SHUTDOWN_TIMEOUT_MS; connection errors are rate-limited JSON lines', async () => {
    const redis = await RedisServer.start();
    const s = track(
      await ServiceProcess.start({
        env: { REDIS_URL: redis.url, DAVPUSH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
      }),
    );
    expect(s.banner()).toMatchObject({ redis: `REDIS_URL ${redis.url}`, queueShards: '1', durability: 'local' });
    await redis.stop();
    const until = Date.now() + 10_000;
    while (!s.json().some((l) => msg(l) === 'redis connection error') && Date.now() < until)
      await new Promise((r) => setTimeout(r, 100));
    // Every BullMQ connection retries many times a second: all of that is one line (and one per 10 s after).
    await new Promise((r) => setTimeout(r, 2000));
    expect(s.json().filter((l) => l.context === 'Redis')).toHaveLength(1);
    const since = Date.now();
    s.signal('SIGTERM');
    const exit = await s.exitWithin(SHUTDOWN_TIMEOUT_MS + SLACK_MS, since);
    expect(exit.code).not.toBeNull();
    expect(s.json().filter((l) => l.context === 'Redis').length).toBeLessThanOrEqual(2);
    expectCleanStop(s);
  }, 60_000);

  it('a start that fails after spawning its private Redis (port in use) stops that Redis and says why in one line', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const s = track(await ServiceProcess.start({ env: { PORT: String(port) }, waitFor: 'exit' }));
      expect((await s.exited).code).toBe(1);
      const errors = s
        .json()
        .filter((l) => l.level === 'error')
        .map(msg);
      expect(errors).toEqual([`could not start: port ${port} on 127.0.0.1 is in use (set PORT)`]);
      expect(s.nonJson()).toEqual([]);
      expect(fs.existsSync(path.join(s.dataDir, 'redis', 'appendonlydir'))).toBe(true); // it did start
      expect(processesMatching(s.dataDir)).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('a start refused on a busy port consumes no job: its workers never started', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const redis = await RedisServer.start();
    const fanout = new Queue(QueueName.Fanout, { connection: { path: redis.socketPath }, prefix: QUEUE_PREFIX });
    try {
      await fanout.add('fanout', { tenantId: 't', topic: 'x' });
      const s = track(
        await ServiceProcess.start({ env: { PORT: String(port), REDIS_URL: redis.url }, waitFor: 'exit' }),
      );
      expect((await s.exited).code).toBe(1);
      expect(
        s
          .json()
          .filter((l) => l.level === 'error')
          .map(msg),
      ).toEqual([`could not start: port ${port} on 127.0.0.1 is in use (set PORT)`]);
      expect(await fanout.getJobCounts('waiting', 'active', 'completed', 'failed')).toEqual({
        waiting: 1,
        active: 0,
        completed: 0,
        failed: 0,
      });
    } finally {
      await fanout.close();
      blocker.close();
    }
  }, 60_000);

  it('a broken admin token file stops start-up before any Redis is spawned', async () => {
    const dataDir = ServiceProcess.dataDir();
    fs.writeFileSync(path.join(dataDir, 'admin-token'), 'short\n');
    const s = track(await ServiceProcess.start({ dataDir, waitFor: 'exit' }));
    expect((await s.exited).code).toBe(1);
    expect(s.output).toBe(
      `davpush: could not start: ${path.join(dataDir, 'admin-token')} holds no valid admin token; delete it to generate a new one\n`,
    );
    expect(processesMatching(dataDir)).toEqual([]);
  }, 30_000);

  it('an unreachable REDIS_URL is one line naming the URL, credentials redacted, and the cause', async () => {
    const port = await closedPort();
    const s = track(
      await ServiceProcess.start({ env: { REDIS_URL: `redis://davpush:s3cret@127.0.0.1:${port}/0` }, waitFor: 'exit' }),
    );
    expect((await s.exited).code).toBe(1);
    expect(s.json().map(msg)).toEqual([
      `could not start: cannot reach Redis at redis://[redacted]@127.0.0.1:${port}/0: connect ECONNREFUSED 127.0.0.1:${port}`,
    ]);
    expect(s.output).not.toContain('s3cret');
    expect(s.nonJson()).toEqual([]);
  }, 30_000);

  it('a unix socket path too long for Unix sockets is reported as such', async () => {
    const long = `/tmp/${'d'.repeat(120)}/redis.sock`;
    const s = track(await ServiceProcess.start({ env: { REDIS_URL: `unix://${long}` }, waitFor: 'exit' }));
    expect((await s.exited).code).toBe(1);
    expect(s.json().map(msg)).toEqual([
      `could not start: cannot reach Redis at unix://${long}: unix socket path is ${long.length} bytes, too long for a Unix socket (at most 103: sun_path is 108 bytes on Linux, 104 on macOS): ${long}`,
    ]);
  }, 30_000);

  it('a data dir too deep for the private Redis socket falls back to a short socket path; SIGINT to the node process stops both', async () => {
    const dataDir = path.join(ServiceProcess.dataDir(), 'a-checkout-nested-rather-deeply'.repeat(3), 'data');
    const s = track(
      await ServiceProcess.start({ dataDir, env: { DAVPUSH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } }),
    );
    const socket = redisSocketOf(s);
    expect(Buffer.byteLength(path.join(dataDir, 'redis', 'redis.sock'))).toBeGreaterThan(103);
    expect(socket).toMatch(/\/davpush-\d+-[0-9a-f]{16}\/redis\.sock$/);
    fallbackDirs.push(path.dirname(socket));
    expect(fs.statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
    expect(processesMatching(socket)).toHaveLength(1);
    s.signal('SIGINT');
    expect(await s.exitWithin(SHUTDOWN_TIMEOUT_MS + SLACK_MS)).toMatchObject({ code: 0 });
    expectCleanStop(s, socket);
  }, 60_000);
});

/**
 * Signals, then expects exit code 0 and the node process gone (under npm it is a grandchild: npm
 * exits with it) within DAVPUSH_SHUTDOWN_TIMEOUT_MS and the slack.
 */
async function stopWithin(s: ServiceProcess, signal: NodeJS.Signals, to: 'node' | 'npm' | 'group'): Promise<void> {
  const since = Date.now();
  s.signal(signal, to);
  const exit = await s.exitWithin(SHUTDOWN_TIMEOUT_MS + SLACK_MS, since);
  expect(exit.code).toBe(0);
  await waitGone(s.nodePid, SHUTDOWN_TIMEOUT_MS + SLACK_MS - exit.ms);
}

async function waitGone(pid: number, ms: number): Promise<void> {
  const until = Date.now() + Math.max(ms, 200);
  while (processesMatching(pid).length > 0) {
    if (Date.now() > until) throw new Error(`process ${pid} still running`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A port nothing listens on (bound and released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}
