import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-connection';

type Arg = string | number | Buffer;

/** ioredis has the Buffer-replying forms of EVAL/EVALSHA on every client, but does not declare them. */
interface BufferEval {
  evalshaBuffer(sha: string, numKeys: number, ...rest: Arg[]): Promise<unknown>;
  evalBuffer(source: string, numKeys: number, ...rest: Arg[]): Promise<unknown>;
}

/**
 * A Lua script run by its SHA-1 (EVALSHA): the source crosses the wire only when Redis does not
 * know it yet (first use, or after a restart). On the delivery hot path this saves Redis from
 * re-hashing kilobytes of script per call.
 *
 * Every call survives `NOSCRIPT` (Redis restarted, `SCRIPT FLUSH`, or — on a Redis Cluster — a node
 * that never saw the script, such as a just-promoted replica: script caches are per node,
 * https://redis.io/docs/latest/develop/interact/programmability/eval-intro/#script-cache) by running
 * the source with EVAL instead, which also caches it on that node.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }

  /** {@link run} with binary replies: strings come back as Buffers (for scripts that return stored bytes). */
  async runBuffer(client: RedisClient, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    try {
      return await (client as unknown as BufferEval).evalshaBuffer(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return (client as unknown as BufferEval).evalBuffer(this.source, keys.length, ...keys, ...args);
    }
  }

  /**
   * Queues the script on a pipeline: EVALSHA, or EVAL with the source when `withSource` (the retry
   * after a `NOSCRIPT` reply, see `isNoScript`).
   */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly Arg[], withSource = false): void {
    if (withSource) pipeline.eval(this.source, keys.length, ...keys, ...args);
    else pipeline.evalsha(this.sha, keys.length, ...keys, ...args);
  }
}

/** True for Redis' `NOSCRIPT` reply: the node does not know the script (see LuaScript). */
export function isNoScript(err: unknown): boolean {
  return !!err && String((err as Error).message).startsWith('NOSCRIPT');
}
