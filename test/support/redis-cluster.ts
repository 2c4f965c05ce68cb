import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { onProcessExit } from './process-exit';

const run = promisify(execFile);

/**
 * A private Redis Cluster for one test file (README "Tests and benchmarks": real Redis, no Docker, no mocks):
 * `masters` masters with `replicasPerMaster` replicas each, every node a spawned
 * `redis-server --cluster-enabled yes` on a free loopback TCP port (cluster nodes talk TCP to each
 * other; the cluster bus is port + 10000), joined with `redis-cli --cluster create` and ready when
 * every node reports `cluster_state:ok` (Redis Cluster spec:
 * https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/).
 *
 * Same life cycle as `RedisServer` (test/support/redis-server.ts): every started cluster is
 * registered; `stop()` SIGTERMs its nodes (SIGKILL after 5 s) and removes its temp dir; an `exit` /
 * `SIGTERM` / `SIGINT` hook SIGKILLs whatever is still running.
 */
export interface RedisClusterOptions {
  /** Masters (slots spread over them). Default 3, the least `redis-cli --cluster create` accepts. */
  masters?: number;
  /** Replicas per master. Default 1. */
  replicasPerMaster?: number;
  /** `requirepass` (and `masterauth`) of every node: a cluster that wants AUTH. */
  password?: string;
}

export interface ClusterNode {
  host: string;
  port: number;
}

const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

export class RedisCluster {
  private static readonly live = new Set<RedisCluster>();
  private static hooked = false;

  private readonly children = new Map<number, ChildProcess>();

  private constructor(
    readonly dir: string,
    /** Every node, masters first as created; roles may change after a failover. */
    readonly nodes: ClusterNode[],
    private readonly password?: string,
  ) {}

  /** redis-cli's AUTH arguments for a cluster with a password. */
  private get auth(): string[] {
    return this.password ? ['-a', this.password, '--no-auth-warning'] : [];
  }

  /** `host:port,host:port…`, the form of REDIS_CLUSTER_NODES. */
  get nodesEnv(): string {
    return this.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  }

  /** PIDs of the node processes still running. */
  get pids(): number[] {
    return [...this.children.values()].filter(isRunning).map((c) => c.pid!);
  }

  static async start(opts: RedisClusterOptions = {}): Promise<RedisCluster> {
    RedisCluster.installHooks();
    const masters = opts.masters ?? 3;
    const replicas = opts.replicasPerMaster ?? 1;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dprc-'));
    const ports: number[] = [];
    for (let i = 0; i < masters * (1 + replicas); i++) ports.push(await freeClusterPort());
    const cluster = new RedisCluster(
      dir,
      ports.map((port) => ({ host: '127.0.0.1', port })),
      opts.password,
    );
    RedisCluster.live.add(cluster);
    try {
      await Promise.all(ports.map((p) => cluster.spawnNode(p)));
      await run(
        'redis-cli',
        [
          ...cluster.auth,
          '--cluster',
          'create',
          ...ports.map((p) => `127.0.0.1:${p}`),
          '--cluster-replicas',
          String(replicas),
          '--cluster-yes',
        ],
        { timeout: START_TIMEOUT_MS },
      );
      await cluster.waitUntilOk();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Stops every cluster this process started (for a global `afterAll`). */
  static async stopAll(): Promise<void> {
    await Promise.all([...RedisCluster.live].map((c) => c.stop()));
  }

  /** One command on one node through `redis-cli` (no cluster redirection); returns its output. */
  async cli(node: ClusterNode, ...args: string[]): Promise<string> {
    const where = ['-h', node.host, '-p', String(node.port)];
    return (await run('redis-cli', [...this.auth, ...where, ...args], { timeout: 10_000 })).stdout;
  }

  /** SIGKILLs one node, as in a crash. */
  async killNode(node: ClusterNode): Promise<void> {
    const child = this.children.get(node.port);
    if (child) await terminate(child, 'SIGKILL');
  }

  /** Starts a killed node again on its own port, nodes.conf and AOF: it rejoins the cluster. */
  async restartNode(node: ClusterNode): Promise<void> {
    const child = this.children.get(node.port);
    if (child && isRunning(child)) return;
    await this.spawnNode(node.port);
  }

  /** The master serving `key`'s slot and that master's replicas, from `CLUSTER NODES`. */
  async ownersOf(key: string): Promise<{ master: ClusterNode; replicas: ClusterNode[] }> {
    const slot = Number((await this.cli(this.nodes[0]!, 'CLUSTER', 'KEYSLOT', key)).trim());
    const lines = (await this.cli(this.nodes[0]!, 'CLUSTER', 'NODES'))
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    const toNode = (addr: string): ClusterNode => ({
      host: addr.split(':')[0]!,
      port: Number(addr.split(':')[1]!.split('@')[0]),
    });
    const master = lines.find(
      (f) =>
        f[2]!.includes('master') &&
        f.slice(8).some((r) => {
          const [lo, hi] = r.split('-').map(Number);
          return slot >= lo! && slot <= (hi ?? lo!);
        }),
    );
    if (!master) throw new Error(`no master serves slot ${slot}`);
    // Each replica's own view (ROLE): right after `--cluster create` gossip may not have told node 0 yet.
    const port = toNode(master[1]!).port;
    const roles = await Promise.all(
      this.nodes.map(async (n) => ({ n, role: (await this.cli(n, 'ROLE')).split('\n') })),
    );
    const replicas = roles.filter(({ role }) => role[0] === 'slave' && Number(role[2]) === port).map(({ n }) => n);
    return { master: toNode(master[1]!), replicas };
  }

  /** Waits until every node reports `cluster_state:ok` and every replica's link to its master is up. */
  async waitUntilOk(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(this.nodes.map((n) => this.cli(n, 'CLUSTER', 'INFO').catch(() => '')));
      // Replicas count only once their first sync is done (a WAIT right after start would return 0).
      const links = await Promise.all(this.nodes.map((n) => this.cli(n, 'INFO', 'replication').catch(() => '')));
      const synced = links.every((r) => /role:master/.test(r) || /master_link_status:up/.test(r));
      if (synced && states.every((s) => /cluster_state:ok/.test(s))) return;
      if (Date.now() > until)
        throw new Error(
          `cluster not ok within ${timeoutMs} ms: ${states.map((s) => /cluster_state:\w+/.exec(s)?.[0] ?? 'no answer').join(', ')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM every node (SIGKILL after 5 s), then removes the temp dir. Safe to call twice. */
  async stop(): Promise<void> {
    RedisCluster.live.delete(this);
    await Promise.all([...this.children.values()].map((c) => terminate(c)));
    this.children.clear();
    // Stopped for good (its clients are closed first): its ports may serve the next cluster.
    for (const n of this.nodes) handedOut.delete(n.port);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async spawnNode(port: number): Promise<void> {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      path.join(this.dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      '2000',
      '--appendonly',
      'yes',
      '--appendfilename',
      `appendonly-${port}.aof`,
      '--appenddirname',
      `aof-${port}`,
      '--dir',
      this.dir,
      '--save',
      '',
      '--daemonize',
      'no',
      // BullMQ requires that Redis never evicts its keys.
      '--maxmemory-policy',
      'noeviction',
      ...(this.password ? ['--requirepass', this.password, '--masterauth', this.password] : []),
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (c: Buffer) => {
      output = (output + c.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    this.children.set(port, child);
    child.unref();
    (child.stdout as net.Socket | null)?.unref();
    (child.stderr as net.Socket | null)?.unref();
    const until = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < until) {
      if (!isRunning(child)) throw new Error(`redis-server :${port} exited at start: ${output.trim()}`);
      if (
        await this.cli({ host: '127.0.0.1', port }, 'PING').then(
          (s) => s.includes('PONG'),
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server :${port} did not answer PING: ${output.trim()}`);
  }

  private static installHooks(): void {
    if (RedisCluster.hooked) return;
    RedisCluster.hooked = true;
    const cleanUp = () => {
      for (const c of RedisCluster.live) {
        for (const child of c.children.values()) if (isRunning(child)) child.kill('SIGKILL');
        try {
          fs.rmSync(c.dir, { recursive: true, force: true });
        } catch {
          // Best effort: a killed node may still be closing files.
        }
      }
      RedisCluster.live.clear();
    };
    onProcessExit(cleanUp);
  }
}

function isRunning(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

function terminate(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = signal === 'SIGTERM' ? setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS) : undefined;
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * Cluster ports are taken below the kernel's ephemeral range (Linux: 32768–60999, which `listen(0)`
 * and outgoing connections draw from), bus ports (port + 10000) included, from a band of this
 * test process's own (vitest's VITEST_POOL_ID), never twice while their cluster runs. So a killed node's
 * port stays ours: another file's cluster (or any `listen(0)`) cannot start on it while this
 * cluster's clients still know it and would follow a foreign node's view of the slots.
 */
const PORT_BASE = 20_000;
const PORT_BAND = 100;
const PORT_BANDS = 27; // 20000–22699, bus ports 30000–32699: band 0 outside vitest (the bench), 1–26 its forks
/** Ports handed out to clusters of this process and not stopped yet. */
const handedOut = new Set<number>();

/** A free port for a new node (see above). */
async function freeClusterPort(): Promise<number> {
  const fork = Number(process.env.VITEST_POOL_ID ?? 0);
  // More than 26 forks at once share bands (then only the bind check below keeps them apart).
  const band = fork > 0 ? 1 + ((fork - 1) % (PORT_BANDS - 1)) : 0;
  const first = PORT_BASE + band * PORT_BAND;
  for (let port = first; port < first + PORT_BAND; port++) {
    if (handedOut.has(port)) continue;
    const free = (p: number) =>
      listenOnce(p).then(
        () => true,
        () => false,
      );
    if ((await free(port)) && (await free(port + 10_000))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free cluster port left in ${first}–${first + PORT_BAND - 1}`);
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const { port: p } = s.address() as net.AddressInfo;
      s.close(() => resolve(p));
    });
  });
}
