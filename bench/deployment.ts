import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { onProcessExit } from '../test/support/process-exit';
import { Child, ROOT, freePort, sleep } from './lib';

/**
 * The pieces of a production-shaped davpush for the cluster benchmark (bench/cluster.ts): a single
 * `redis-server` on a TCP port, davpush's API and worker roles as separate processes started the way
 * an operator starts them (`node bin/start.js api|worker`), and readings of CPU time (Linux
 * `/proc/<pid>/stat`, proc(5)) and Redis `INFO` (https://redis.io/docs/latest/commands/info/).
 */

const spawned = new Set<ChildProcess>();
let hooked = false;
function track(proc: ChildProcess): void {
  spawned.add(proc);
  proc.once('exit', () => spawned.delete(proc));
  if (hooked) return;
  hooked = true;
  // The bench may die mid-run: nothing it started outlives it.
  onProcessExit(() => {
    for (const p of spawned) p.kill('SIGKILL');
  });
}

/**
 * One redis-server on a loopback TCP port, configured as each node of test/support/redis-cluster.ts
 * is (AOF, no RDB snapshots, noeviction), so that "single Redis" and "cluster" differ only in being a
 * cluster (both over TCP, unlike the unix socket of the other figures).
 */
export class TcpRedis {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly proc: ChildProcess,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TcpRedis> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpbench-redis-'));
    const port = await freePort();
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--appendonly',
        'yes',
        '--save',
        '',
        '--dir',
        dir,
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    track(proc);
    const redis = new TcpRedis(port, dir, proc);
    const client = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => 50,
      maxRetriesPerRequest: null,
    });
    client.on('error', () => undefined); // refused until the server listens: retried
    try {
      await client.connect().catch(() => undefined);
      await Promise.race([
        client.ping(),
        sleep(10_000).then(() => Promise.reject(new Error('redis-server did not answer'))),
      ]);
    } finally {
      client.disconnect();
    }
    return redis;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Direct connections to every node of a Redis (one) or a Redis Cluster (all), for INFO sums. */
export class RedisNodes {
  private constructor(private readonly nodes: Redis[]) {}

  static connect(addresses: { host: string; port: number }[]): RedisNodes {
    return new RedisNodes(addresses.map(({ host, port }) => new Redis(port, host)));
  }

  /**
   * Sum over the masters of `used_memory` less the buffers that come and go with traffic or are
   * fixed per node (replication backlog and replica output, client buffers, AOF buffer, cluster
   * bus): the bytes the data set itself holds, keys, values and their dictionary entries.
   */
  async dataMemory(): Promise<number> {
    return this.sum((info) => {
      const replication = info.includes('mem_total_replication_buffers:')
        ? field(info, 'mem_total_replication_buffers')
        : field(info, 'mem_replication_backlog') + field(info, 'mem_clients_slaves');
      const others = ['mem_clients_normal', 'mem_aof_buffer', 'mem_cluster_links'].reduce(
        (s, f) => s + (field(info, f) || 0),
        0,
      );
      return field(info, 'used_memory') - replication - others;
    });
  }

  /** Sum over the masters of `used_cpu_user` + `used_cpu_sys` (seconds of CPU since start). */
  async cpuSeconds(): Promise<number> {
    return this.sum((info) => field(info, 'used_cpu_user') + field(info, 'used_cpu_sys'));
  }

  /**
   * Bytes (`MEMORY USAGE`) of every key on the masters that expires in more than `minTtlMs`, by key:
   * what a delivered event leaves for its 24 h, apart from the completed jobs BullMQ keeps up to a
   * count (no TTL). Compare two snapshots with `grownBytes`.
   */
  async longLived(minTtlMs = 3_600_000): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const n of this.nodes) {
      if (!/role:master/.test(await n.info('replication'))) continue;
      let cursor = '0';
      do {
        const [next, keys] = await n.scan(cursor, 'COUNT', 1000);
        cursor = next;
        const p = n.pipeline();
        for (const k of keys) p.pttl(k).memory('USAGE', k, 'SAMPLES', '0');
        const replies = (await p.exec()) ?? [];
        keys.forEach((k, i) => {
          if (Number(replies[2 * i]?.[1]) > minTtlMs) out.set(k, Number(replies[2 * i + 1]?.[1] ?? 0));
        });
      } while (cursor !== '0');
    }
    return out;
  }

  /** Registration-sized data keys per master (`DBSIZE` of each), to see the spread. */
  async keysPerMaster(): Promise<number[]> {
    const out: number[] = [];
    for (const n of this.nodes) if (/role:master/.test(await n.info('replication'))) out.push(await n.dbsize());
    return out;
  }

  close(): void {
    for (const n of this.nodes) n.disconnect();
  }

  private async sum(read: (info: string) => number): Promise<number> {
    let total = 0;
    for (const n of this.nodes) {
      const info = await n.info();
      if (/role:master/.test(info)) total += read(info);
    }
    return total;
  }
}

/** Bytes the keys of `after` grew by since `before` (new keys count whole). */
export function grownBytes(before: Map<string, number>, after: Map<string, number>): number {
  let sum = 0;
  for (const [k, b] of after) sum += Math.max(0, b - (before.get(k) ?? 0));
  return sum;
}

const field = (info: string, name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);

const CLOCK_TICKS = 100; // USER_HZ: `getconf CLK_TCK` is 100 on Linux (proc(5), /proc/<pid>/stat)

/** CPU seconds (user + system, every thread) a live process has used, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export interface DeploymentOptions {
  /** REDIS_URL or REDIS_CLUSTER_NODES. */
  redisEnv: Record<string, string>;
  work: string;
  caPath: string;
  adminToken: string;
}

/**
 * davpush as separate processes on one Redis (or cluster): one API process and any number of worker
 * processes, each `node bin/start.js <role>`. Its tenant is created at start.
 */
export class Deployment {
  readonly workers: Child[] = [];
  apiKey = '';

  private constructor(
    private readonly opts: DeploymentOptions,
    readonly api: Child,
    readonly base: string,
  ) {}

  static async start(opts: DeploymentOptions): Promise<Deployment> {
    const port = await freePort();
    const api = Deployment.role('api', opts, { PORT: String(port) });
    const deployment = new Deployment(opts, api, `http://127.0.0.1:${port}`);
    try {
      await api.waitFor('listening on', 120_000);
      const { apiKey } = (await deployment.call('POST', '/v1/tenants', opts.adminToken, { name: 'bench' })) as {
        apiKey: string;
      };
      deployment.apiKey = apiKey;
    } catch (err) {
      await api.stop();
      throw err;
    }
    return deployment;
  }

  private static role(role: 'api' | 'worker', opts: DeploymentOptions, env: Record<string, string>): Child {
    const child = Child.node(path.join(ROOT, 'bin/start.js'), [role], {
      HOST: '127.0.0.1',
      ...opts.redisEnv,
      DAVPUSH_DATA_DIR: opts.work,
      DAVPUSH_ADMIN_TOKEN: opts.adminToken,
      DAVPUSH_VAPID_SUBJECT: 'mailto:bench@davpush.test',
      DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: '1',
      DAVPUSH_COALESCE_MS: '20',
      DAVPUSH_INGEST_RATE: '1000000',
      DAVPUSH_MAX_REGISTRATIONS_PER_TOPIC: '1000000',
      DAVPUSH_LOG_LEVEL: 'warn',
      // The start-up banner ("… is listening on …") is printed in pretty mode at any level.
      DAVPUSH_LOG_FORMAT: 'pretty',
      NODE_EXTRA_CA_CERTS: opts.caPath,
      ...env,
    });
    track(child.proc);
    return child;
  }

  async call(method: string, url: string, token: string, body?: unknown): Promise<unknown> {
    const res = await fetch(this.base + url, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : res.json();
  }

  /** Starts one more worker process and waits for its banner. */
  async addWorker(): Promise<void> {
    const worker = Deployment.role('worker', this.opts, { DAVPUSH_WORKER_PORT: String(await freePort()) });
    this.workers.push(worker);
    await worker.waitFor('listening on', 120_000);
  }

  /** Stops the newest worker process (SIGTERM: it finishes its active jobs first). */
  async removeWorker(): Promise<void> {
    await this.workers.pop()?.stop();
  }

  /** CPU seconds used so far by the API process and by all worker processes now running. */
  cpu(): { api: number; workers: number } {
    return {
      api: processCpuSeconds(this.api.proc.pid!),
      workers: this.workers.reduce((s, w) => s + processCpuSeconds(w.proc.pid!), 0),
    };
  }

  async stop(): Promise<void> {
    while (this.workers.length > 0) await this.removeWorker();
    await this.api.stop();
  }
}
