import { Injectable } from '@nestjs/common';
import { keys } from './keys';
import { LuaScript } from './lua-script';
import { RedisService } from './redis.service';

export interface TokenBucket {
  /** Tokens added per second. */
  rate: number;
  /** Bucket size: the most that can be spent at once. */
  burst: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Whole tokens left after this request (after the refusal, when refused). */
  remaining: number;
  /** Seconds until `cost` tokens are there (refused) or until the bucket is full again (allowed). */
  resetSeconds: number;
}

/**
 * KEYS: 1 bucket hash. ARGV: 1 rate (tokens/s), 2 burst, 3 cost, 4 now in ms ('' = Redis' clock).
 * Refill, check and spend in one atomic step, so concurrent requests of one tenant on any number
 * of API processes share one bucket. Redis' own clock by default: API hosts' clocks may disagree.
 * Returns {allowed 0|1, tokens left as a string (fractional)}.
 */
const TAKE = new LuaScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local allowed = 0
if cost <= tokens then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
-- A full bucket is the same as no bucket: let Redis forget it once it would be full again.
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {allowed, tostring(tokens)}
`);

/** Per-tenant token buckets in Redis (docs/security.md "Limits": the ingest rate counts events, not requests). */
@Injectable()
export class RateLimitStore {
  constructor(private readonly redis: RedisService) {}

  async take(tenantId: string, cost: number, bucket: TokenBucket, nowMs?: number): Promise<RateDecision> {
    const [allowed, left] = (await TAKE.run(
      this.redis.client,
      [keys.rateLimit(tenantId)],
      [bucket.rate, bucket.burst, cost, nowMs === undefined ? '' : String(nowMs)],
    )) as [number, string];
    const tokens = Number(left);
    const missing = allowed === 1 ? bucket.burst - tokens : cost - tokens;
    return {
      allowed: allowed === 1,
      remaining: Math.max(0, Math.floor(tokens)),
      resetSeconds: Math.max(allowed === 1 ? 0 : 1, Math.ceil(missing / bucket.rate)),
    };
  }
}
