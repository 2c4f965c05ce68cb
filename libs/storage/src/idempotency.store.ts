import { Injectable } from '@nestjs/common';
import { keys } from './keys';
import { RedisService } from './redis.service';

/** How long a finished answer is replayed for a repeated Idempotency-Key (README "HTTP API", `POST /v1/events`). */
const DONE_TTL_SECONDS = 24 * 3600;
/** A request that crashed mid-way must not block its key for a day. */
const PENDING_TTL_SECONDS = 60;

export type IdempotencyBegin =
  { state: 'new' } | { state: 'done'; answer: unknown } | { state: 'in-flight' } | { state: 'mismatch' };

interface Record {
  state: 'pending' | 'done';
  fingerprint: string;
  answer?: unknown;
}

/** Idempotency-Key records per tenant: the first answer is kept and returned for repeats. */
@Injectable()
export class IdempotencyStore {
  constructor(private readonly redis: RedisService) {}

  async begin(tenantId: string, key: string, fingerprint: string): Promise<IdempotencyBegin> {
    const k = keys.idempotency(tenantId, key);
    const pending: Record = { state: 'pending', fingerprint };
    const created = await this.redis.client.set(k, JSON.stringify(pending), 'EX', PENDING_TTL_SECONDS, 'NX');
    if (created) return { state: 'new' };
    const raw = await this.redis.client.get(k);
    if (!raw) return this.begin(tenantId, key, fingerprint);
    const rec = JSON.parse(raw) as Record;
    if (rec.fingerprint !== fingerprint) return { state: 'mismatch' };
    return rec.state === 'done' ? { state: 'done', answer: rec.answer } : { state: 'in-flight' };
  }

  async complete(tenantId: string, key: string, fingerprint: string, answer: unknown): Promise<void> {
    const rec: Record = { state: 'done', fingerprint, answer };
    await this.redis.client.set(keys.idempotency(tenantId, key), JSON.stringify(rec), 'EX', DONE_TTL_SECONDS);
  }

  async abandon(tenantId: string, key: string): Promise<void> {
    await this.redis.client.del(keys.idempotency(tenantId, key));
  }
}
