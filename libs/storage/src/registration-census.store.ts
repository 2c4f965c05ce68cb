import { Injectable } from '@nestjs/common';
import { TRANSPORTS, type Transport } from '@davpush/domain';
import { transportOfPacked } from './registration-record';
import { keys } from './keys';
import { RedisService } from './redis.service';

export interface TransportSample {
  /** Live (unexpired) registrations, exact (ZCOUNT of the global expiry index). */
  total: number;
  /** Registrations of each transport among those read. */
  seen: Record<Transport, number>;
  /** Index entries visited (at most `limit`), and how many of them had a readable transport. */
  visited: number;
  readable: number;
}

const PAGE = 1000;

/**
 * Read-only counts over the registration indexes, for operators (metrics, `davpush stats`).
 * Storage keeps no per-transport counter, so the transports are read from at most `limit`
 * registrations, soonest to expire first, a page of pipelined HGETs at a time.
 */
@Injectable()
export class RegistrationCensusStore {
  constructor(private readonly redis: RedisService) {}

  async sampleTransports(limit: number, now = Date.now()): Promise<TransportSample> {
    const client = this.redis.client;
    const live = `(${now}`;
    const total = await client.zcount(keys.registrationExpiry(), live, '+inf');
    const seen = Object.fromEntries(TRANSPORTS.map((t) => [t, 0])) as Record<Transport, number>;
    let readable = 0;
    let visited = 0;
    for (let offset = 0; offset < Math.min(total, limit); offset += PAGE) {
      const ids = await client.zrangebyscore(keys.registrationExpiry(), live, '+inf', 'LIMIT', offset, Math.min(PAGE, limit - offset));
      if (ids.length === 0) break;
      visited += ids.length;
      const pipeline = client.pipeline();
      ids.forEach((id) => pipeline.hgetBuffer(keys.registration(id), 's0'));
      for (const [err, sub] of (await pipeline.exec()) ?? []) {
        const type = err ? undefined : transportOfPacked(sub as Buffer | null);
        if (type) {
          seen[type]++;
          readable++;
        }
      }
      if (ids.length < PAGE) break;
    }
    return { total, seen, visited, readable };
  }
}
