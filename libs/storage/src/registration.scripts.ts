/**
 * Lua scripts for registrations. Each is one atomic step, so a crash or a concurrent request can
 * never leave a half-written registration or an index entry pointing at nothing, and two requests
 * racing for the last free slot of a topic cannot both get it (docs/security.md "Limits": limits are checked and
 * spent in the same step).
 *
 * Registration hash fields: id tenantId topic identity sub trigger expiresAt createdAt updatedAt
 * principal clientId lastSuccessAt failures idsKey regsKey tenantKey principalKey. The index keys are kept
 * in the hash so REMOVE can clean every index without recomputing names (all share the `{davpush}`
 * hash tag, so they live in one cluster slot).
 */

/**
 * KEYS: 1 topic identities hash, 2 topic registrations zset, 3 global expiry zset,
 *       4 tenant registrations zset, 5 principal registrations zset (only when ARGV[9] ~= '')
 * ARGV: 1 identity, 2 new id, 3 tenantId, 4 topic, 5 subscription JSON, 6 trigger JSON,
 *       7 expiresAt, 8 now, 9 principal ('' = none), 10 registration key prefix,
 *       11 max live registrations per topic (0 = no limit), 12 max per principal (0 = no limit),
 *       13 CC/CD 70025 client id ('' = none; an update without one clears it)
 * Returns {status, id}: status created | updated | forbidden (another principal owns it) |
 * limit-topic | limit-principal (a new registration would pass a limit; nothing was written).
 */
export const UPSERT = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  local key = ARGV[10] .. existing
  local cur = redis.call('HMGET', key, 'expiresAt', 'principal', 'principalKey')
  if cur[1] and tonumber(cur[1]) > tonumber(ARGV[8]) then
    local owner = cur[2] or ''
    if owner ~= '' and ARGV[9] ~= owner then return {'forbidden', existing} end
    redis.call('HSET', key, 'sub', ARGV[5], 'trigger', ARGV[6], 'expiresAt', ARGV[7], 'updatedAt', ARGV[8], 'tenantKey', KEYS[4])
    if (ARGV[13] or '') ~= '' then redis.call('HSET', key, 'clientId', ARGV[13]) else redis.call('HDEL', key, 'clientId') end
    if ARGV[9] ~= '' then
      redis.call('HSET', key, 'principal', ARGV[9], 'principalKey', KEYS[5])
      redis.call('ZADD', KEYS[5], ARGV[7], existing)
    end
    redis.call('ZADD', KEYS[2], ARGV[7], existing)
    redis.call('ZADD', KEYS[3], ARGV[7], existing)
    redis.call('ZADD', KEYS[4], ARGV[7], existing)
    return {'updated', existing}
  end
  -- expired (not yet swept) or dangling: clean it up; a fresh registration may take its place
  if cur[3] then redis.call('ZREM', cur[3], existing) end
  redis.call('DEL', key)
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], existing)
  redis.call('ZREM', KEYS[3], existing)
  redis.call('ZREM', KEYS[4], existing)
end
local live = '(' .. ARGV[8]
local maxTopic = tonumber(ARGV[11])
if maxTopic > 0 and redis.call('ZCOUNT', KEYS[2], live, '+inf') >= maxTopic then return {'limit-topic', ''} end
local maxPrincipal = tonumber(ARGV[12])
if ARGV[9] ~= '' and maxPrincipal > 0 and redis.call('ZCOUNT', KEYS[5], live, '+inf') >= maxPrincipal then
  return {'limit-principal', ''}
end
local key = ARGV[10] .. ARGV[2]
redis.call('HSET', key, 'id', ARGV[2], 'tenantId', ARGV[3], 'topic', ARGV[4], 'identity', ARGV[1],
  'sub', ARGV[5], 'trigger', ARGV[6], 'expiresAt', ARGV[7], 'createdAt', ARGV[8], 'updatedAt', ARGV[8],
  'principal', ARGV[9], 'failures', 0, 'idsKey', KEYS[1], 'regsKey', KEYS[2], 'tenantKey', KEYS[4])
if ARGV[9] ~= '' then
  redis.call('HSET', key, 'principalKey', KEYS[5])
  redis.call('ZADD', KEYS[5], ARGV[7], ARGV[2])
end
if (ARGV[13] or '') ~= '' then redis.call('HSET', key, 'clientId', ARGV[13]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[2])
return {'created', ARGV[2]}
`;

/**
 * KEYS: 1 registration hash, 2 global expiry zset
 * ARGV: 1 id, 2 tenantId ('' = any), 3 now, 4 principal ('' = none given), 5 identity ('' = any),
 *       6 '1' = strict: a registration bound to a principal needs that same principal, even when
 *       none was given (the tenant API); otherwise only a *different* given principal is refused
 *       (the capability URL alone is enough, docs/security.md "Registrations").
 * Returns 1 if a live registration was removed, 0 if none (or expired: it is cleaned up anyway),
 * -1 if the principal does not match.
 */
export const REMOVE = `
local r = redis.call('HMGET', KEYS[1], 'tenantId', 'idsKey', 'regsKey', 'identity', 'expiresAt', 'principal', 'tenantKey', 'principalKey')
if not r[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if ARGV[2] ~= '' and r[1] ~= ARGV[2] then return 0 end
if ARGV[5] ~= '' and r[4] ~= ARGV[5] then return 0 end
local owner = r[6] or ''
if owner ~= '' and owner ~= ARGV[4] and (ARGV[4] ~= '' or ARGV[6] == '1') then return -1 end
redis.call('ZREM', r[3], ARGV[1])
if redis.call('HGET', r[2], r[4]) == ARGV[1] then redis.call('HDEL', r[2], r[4]) end
if r[7] then redis.call('ZREM', r[7], ARGV[1]) end
if r[8] then redis.call('ZREM', r[8], ARGV[1]) end
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
