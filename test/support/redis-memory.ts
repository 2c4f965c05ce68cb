import type { Cluster, Redis } from 'ioredis';

/**
 * Bytes of data in one Redis node: `INFO memory` `used_memory` less the client, replication-backlog
 * and AOF buffers, which fill with the stream of commands rather than with data (the backlog alone
 * grows to `repl-backlog-size`, 1 MB by default, per master). Fields:
 * https://redis.io/docs/latest/commands/info/ ("memory" section).
 */
export async function dataMemory(redis: Redis | Cluster): Promise<number> {
  const info = await redis.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return (
    field('used_memory') -
    field('mem_clients_slaves') -
    field('mem_clients_normal') -
    field('mem_replication_backlog') -
    field('mem_aof_buffer')
  );
}
