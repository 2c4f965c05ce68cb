/**
 * Lua scripts for registrations. Each is one atomic step, so a crash or a concurrent request can
 * never leave a half-written registration or an index entry pointing at nothing.
 *
 * Registration hash fields: id tenantId topic identity sub trigger expiresAt createdAt updatedAt
 * principal lastSuccessAt failures idsKey regsKey.
 */

/**
 * KEYS: 1 topic identities hash, 2 topic registrations zset, 3 global expiry zset
 * ARGV: 1 identity, 2 new id, 3 tenantId, 4 topic, 5 subscription JSON, 6 trigger JSON,
 *       7 expiresAt, 8 now, 9 principal ('' = none), 10 registration key prefix
 * Returns {status, id}: status created | updated | forbidden (another principal owns it).
 */
export const UPSERT = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  local key = ARGV[10] .. existing
  local cur = redis.call('HMGET', key, 'expiresAt', 'principal')
  if cur[1] and tonumber(cur[1]) > tonumber(ARGV[8]) then
    local owner = cur[2] or ''
    if owner ~= '' and ARGV[9] ~= owner then return {'forbidden', existing} end
    redis.call('HSET', key, 'sub', ARGV[5], 'trigger', ARGV[6], 'expiresAt', ARGV[7], 'updatedAt', ARGV[8])
    if ARGV[9] ~= '' then redis.call('HSET', key, 'principal', ARGV[9]) end
    redis.call('ZADD', KEYS[2], ARGV[7], existing)
    redis.call('ZADD', KEYS[3], ARGV[7], existing)
    return {'updated', existing}
  end
  -- expired (not yet swept) or dangling: replace it with a fresh registration
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[2], existing)
  redis.call('ZREM', KEYS[3], existing)
end
local key = ARGV[10] .. ARGV[2]
redis.call('HSET', key, 'id', ARGV[2], 'tenantId', ARGV[3], 'topic', ARGV[4], 'identity', ARGV[1],
  'sub', ARGV[5], 'trigger', ARGV[6], 'expiresAt', ARGV[7], 'createdAt', ARGV[8], 'updatedAt', ARGV[8],
  'principal', ARGV[9], 'failures', 0, 'idsKey', KEYS[1], 'regsKey', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[2])
return {'created', ARGV[2]}
`;

/**
 * KEYS: 1 registration hash, 2 global expiry zset
 * ARGV: 1 id, 2 tenantId ('' = any), 3 now, 4 principal ('' = any), 5 identity ('' = any)
 * Returns 1 if a live registration was removed, 0 if none (or expired: it is cleaned up anyway),
 * -1 if another principal owns it.
 */
export const REMOVE = `
local r = redis.call('HMGET', KEYS[1], 'tenantId', 'idsKey', 'regsKey', 'identity', 'expiresAt', 'principal')
if not r[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if ARGV[2] ~= '' and r[1] ~= ARGV[2] then return 0 end
if ARGV[5] ~= '' and r[4] ~= ARGV[5] then return 0 end
if ARGV[4] ~= '' and (r[6] or '') ~= '' and r[6] ~= ARGV[4] then return -1 end
redis.call('ZREM', r[3], ARGV[1])
if redis.call('HGET', r[2], r[4]) == ARGV[1] then redis.call('HDEL', r[2], r[4]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if tonumber(r[5]) > tonumber(ARGV[3]) then return 1 end
return 0
`;

/**
 * KEYS: 1 registration hash. ARGV: 1 outcome ('success' | 'failure'), 2 now.
 * Returns {failures, lastSuccessAt or '', createdAt} or nil when the registration is gone.
 */
export const RECORD = `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
if ARGV[1] == 'success' then
  redis.call('HSET', KEYS[1], 'lastSuccessAt', ARGV[2], 'failures', 0)
else
  redis.call('HINCRBY', KEYS[1], 'failures', 1)
end
local r = redis.call('HMGET', KEYS[1], 'failures', 'lastSuccessAt', 'createdAt')
return {r[1], r[2] or '', r[3]}
`;
