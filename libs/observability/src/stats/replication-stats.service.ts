import { Injectable } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { type MasterReplicas, RedisService, replicasPerMaster } from '@davpush/storage';
import { Cached } from './cached';

/**
 * Online replicas of every Redis master (the single Redis, or each master of a Cluster), for the
 * readiness check `durability` and the gauge `davpush_redis_replicas_online`. Under
 * DAVPUSH_DURABILITY=replicated every accepted write waits for a replica of every master
 * (docs/durability.md): a master without one turns every event and registration into a 503.
 * Cached 2 s, like the queue figures: one `INFO replication` per master per period.
 */
@Injectable()
export class ReplicationStatsService {
  static readonly TTL_MS = 2000;
  private readonly cache = new Cached(ReplicationStatsService.TTL_MS, () => replicasPerMaster(this.redis.client));

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  /** Whether accepted writes wait for a replica (DAVPUSH_DURABILITY=replicated). */
  get replicated(): boolean {
    return this.config.durability.mode === 'replicated';
  }

  /** Each master with its online replicas. Rejects when a master does not answer. */
  masters(maxAgeMs?: number): Promise<MasterReplicas[]> {
    return this.cache.get(maxAgeMs);
  }
}
