import { Injectable } from '@nestjs/common';
import { AppConfig, DURABILITY_WAIT_GRACE_MS } from '@davpush/config';
import { StorageUnavailableError } from '@davpush/domain';
import { Cluster, type Redis } from 'ioredis';
import { RedisService } from './redis.service';
import type { RedisClient } from './redis-connection';

/**
 * A write Redis holds but no replica has acknowledged within DAVPUSH_DURABILITY_TIMEOUT_MS
 * (docs/durability.md). 503 + Retry-After, problem type `replication-timeout`. The write itself
 * may well be in Redis: every write behind it is idempotent (event ids, registration upserts),
 * so the client's retry is safe.
 */
export class ReplicationTimeoutError extends StorageUnavailableError {
  readonly problemType = 'replication-timeout';
}

/**
 * DAVPUSH_DURABILITY=replicated: after the writes that make an answer (an accepted event, a
 * registration), Redis `WAIT 1 <timeout>` (https://redis.io/docs/latest/commands/wait/) until at
 * least one replica has them. WAIT counts the writes sent on its own connection, so it goes over
 * the very connections the stores wrote on: the client itself on a single Redis, and on a Redis
 * Cluster the connection to every master. Every master, not only the one of the topic's slot: one
 * answer writes keys of several slots (the topic's keys and global indexes that stranded-event
 * recovery and the expiry sweep read), and a master without a write from us since its last WAIT
 * answers at once. `local` (the default): a no-op.
 */
@Injectable()
export class ReplicaAck {
  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  get required(): boolean {
    return this.config.durability.mode === 'replicated';
  }

  /**
   * Resolves once ≥ 1 replica of every master acknowledged this process's writes so far, those of
   * the stores and those sent over `others` (BullMQ's connection, for the jobs just added); a
   * no-op under `local`. @throws ReplicationTimeoutError when a master's replicas did not within the
   * timeout (none connected, lagging, a failover under way).
   */
  async afterWrites(...others: RedisClient[]): Promise<void> {
    if (!this.required) return;
    const timeoutMs = this.config.durability.timeoutMs;
    const nodes = [this.redis.client, ...others].flatMap(connectionsOf);
    if (nodes.length === 0)
      throw new StorageUnavailableError(
        'the Redis Cluster is not connected yet; nothing is known to be replicated, retry shortly',
      );
    const acked = await Promise.all(nodes.map((node) => this.waitOn(node, timeoutMs)));
    if (acked.some((n) => Number(n) < 1)) {
      throw new ReplicationTimeoutError(
        `no Redis replica acknowledged the write within ${timeoutMs} ms (DAVPUSH_DURABILITY=replicated); it may have been stored, and repeating the request is safe`,
      );
    }
  }

  /**
   * WAIT on one connection. The write itself went through; if WAIT cannot run (a master that just
   * died, its connection closed or reconnecting), whether a replica has the write is unknown: that
   * is a 503 too, never a 500, and never longer than the timeout plus DURABILITY_WAIT_GRACE_MS.
   * That bound is ours, not the client's: the stores' client has a command timeout, but config
   * validation keeps it at least this long (libs/config/src/env.schema.ts), and BullMQ's
   * connections (`others`) have none.
   */
  private async waitOn(node: Redis, timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('WAIT did not return')), timeoutMs + DURABILITY_WAIT_GRACE_MS);
    });
    try {
      return Number(await Promise.race([node.call('WAIT', '1', String(timeoutMs)), late]));
    } catch (err) {
      throw new ReplicationTimeoutError(
        `could not confirm that a Redis replica has the write (${(err as Error).message}); it may have been stored, and repeating the request is safe`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The connections writes go over: the client itself, or the one to each master of a Cluster. */
function connectionsOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** One master and how many replicas it has online (in sync, so they acknowledge `WAIT`). */
export interface MasterReplicas {
  /** `host:port` (or the unix socket path) of the master. */
  master: string;
  /** Replicas with `state=online` in the master's `INFO replication`. */
  online: number;
}

/**
 * Each master's online replicas (`INFO replication`, https://redis.io/docs/latest/commands/info/):
 * the single Redis, or every master of a Cluster as ioredis currently knows them. A replica still
 * syncing (`wait_bgsave`, `send_bulk`) does not acknowledge `WAIT`, so it does not count.
 * Rejects when a master does not answer.
 */
export async function replicasPerMaster(client: RedisClient): Promise<MasterReplicas[]> {
  return Promise.all(
    connectionsOf(client).map(async (node) => {
      const info = String(await node.info('replication'));
      const online = [...info.matchAll(/^slave\d+:.*state=online/gm)].length;
      return { master: node.options.path ?? `${node.options.host}:${node.options.port}`, online };
    }),
  );
}

/**
 * For the start-up check of DAVPUSH_DURABILITY=replicated: the masters without a connected,
 * in-sync replica (`INFO replication`), as `host:port`; empty when every master has one.
 */
export async function mastersWithoutReplica(client: RedisClient): Promise<string[]> {
  return (await replicasPerMaster(client)).filter((m) => m.online < 1).map((m) => m.master);
}
