import { Injectable } from '@nestjs/common';
import { RedisService } from './redis.service';

/**
 * What BullMQ keeps of finished jobs, read for operators. BullMQ scores its completed and failed
 * sets by finish time but has no "count since" call; the set's key comes from BullMQ itself
 * (`Queue#toKey('completed')`), so only the reading is here.
 */
@Injectable()
export class JobHistoryStore {
  constructor(private readonly redis: RedisService) {}

  /** Jobs in the finished set `setKey` that finished at or after `sinceMs` (epoch ms). */
  finishedSince(setKey: string, sinceMs: number): Promise<number> {
    return this.redis.client.zcount(setKey, String(sinceMs), '+inf');
  }
}
