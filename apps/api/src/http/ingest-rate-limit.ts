import { Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { AppConfig } from '@davpush/config';
import { PayloadTooLargeError, RateLimitedError } from '@davpush/domain';
import { RateLimitStore, type TokenBucket } from '@davpush/storage';

/**
 * The per-tenant ingest limit (`DAVPUSH_INGEST_RATE`, README "Configuration"; docs/security.md "Limits"): a token bucket of
 * DAVPUSH_INGEST_RATE events per second with a burst of twice that, counting events, not requests.
 * A batch is charged whole or not at all: a refused batch queues nothing.
 *
 * Every answer carries the draft-ietf-httpapi-ratelimit-headers fields (the -07 names the issue asks
 * for): `RateLimit-Limit` (the burst), `RateLimit-Remaining` (whole events left) and `RateLimit-Reset`
 * (seconds until the bucket is full again, or, on 429, until this batch would fit). A 429 also
 * carries `Retry-After` with the same number of seconds.
 */
@Injectable()
export class IngestRateLimit {
  private readonly bucket: TokenBucket;

  constructor(
    config: AppConfig,
    private readonly store: RateLimitStore,
  ) {
    this.bucket = { rate: config.ingestRatePerSecond, burst: 2 * config.ingestRatePerSecond };
  }

  async charge(tenantId: string, events: number, res: Response): Promise<void> {
    const { rate, burst } = this.bucket;
    if (events > burst) {
      // It could never pass, however long the client waits: a 429 would only teach it to loop.
      res.setHeader('RateLimit-Limit', String(burst));
      throw new PayloadTooLargeError(
        `a batch of ${events} events is more than this tenant may send at once (${burst}); send smaller batches`,
      );
    }
    const d = await this.store.take(tenantId, events, this.bucket);
    res.setHeader('RateLimit-Limit', String(burst));
    res.setHeader('RateLimit-Remaining', String(d.remaining));
    res.setHeader('RateLimit-Reset', String(d.resetSeconds));
    if (!d.allowed) {
      throw new RateLimitedError(
        `this tenant may post ${rate} events per second (bursts up to ${burst}); retry in ${d.resetSeconds} s`,
        d.resetSeconds,
      );
    }
  }
}
