import { Injectable } from '@nestjs/common';
import { TRANSPORTS, type Transport } from '@davpush/domain';
import { RegistrationCensusStore } from '@davpush/storage';
import { Cached } from './cached';

export interface RegistrationCounts {
  /** Live (unexpired) registrations, exact (ZCOUNT of the global expiry index). */
  total: number;
  /** Per transport; exact when `sampled` is false, else `total` split by the shares seen in the sample. */
  byTransport: Record<Transport, number>;
  sampled: boolean;
}

/**
 * Live registrations per transport, for `davpush_registrations_live` and `davpush stats`: exact up
 * to `maxScanned` registrations (see RegistrationCensusStore), beyond that the exact total split by
 * the shares seen in the sample. Cached for 30 s: counts this large move slowly and the scan is not free.
 */
@Injectable()
export class RegistrationStatsService {
  static readonly TTL_MS = 30_000;
  maxScanned = 20_000;
  private readonly cache = new Cached(RegistrationStatsService.TTL_MS, () => this.count());

  constructor(private readonly census: RegistrationCensusStore) {}

  counts(maxAgeMs?: number): Promise<RegistrationCounts> {
    return this.cache.get(maxAgeMs);
  }

  private async count(): Promise<RegistrationCounts> {
    const { total, seen, visited, readable } = await this.census.sampleTransports(this.maxScanned);
    const sampled = visited >= this.maxScanned && total > visited && readable > 0;
    if (!sampled) return { total, byTransport: seen, sampled };
    const byTransport = Object.fromEntries(
      TRANSPORTS.map((t) => [t, Math.round((seen[t] / readable) * total)]),
    ) as Record<Transport, number>;
    return { total, byTransport, sampled };
  }
}
