import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection';

type Arg = string | number | Buffer;

/**
 * A Lua script run by its SHA-1 (EVALSHA): the source crosses the wire only when Redis does not
 * know it yet (first use, or after a restart). On the delivery hot path this saves Redis from
 * re-hashing kilobytes of script per call.
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
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }

  /** For pipelines: make sure Redis knows the script before queuing EVALSHA calls. */
  async load(client: RedisClient): Promise<void> {
    await client.script('LOAD', this.source);
  }
}
