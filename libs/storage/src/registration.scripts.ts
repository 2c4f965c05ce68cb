import { KEY_PREFIX } from './keys';

/**
 * Lua scripts for registrations. Each is one atomic step, so a crash or a concurrent request can
 * never leave a half-written registration or an index entry pointing at nothing, and two requests
 * racing for the last free slot of a topic cannot both get it (docs/security.md "Limits": limits are checked and
 * spent in the same step).
 *
 * Registration hash fields: see registration-record.ts (t p i h q o e c u k l f n s0…). Index key
 * names are rebuilt here from the tenant id and the topic/principal digests (the topic's from its caller), in the same form as
 * `keys.topicIdentities`, `keys.topicRegistrations` (keys.ts) and `registrationIndexKeys`
 * (registration.store.ts); all share the `{davpush}` hash tag, so they live in one cluster slot.
 */
/** Key prefixes of the tenant's topic set and the principal index (`registrationIndexKeys` in registration.store.ts). */
export const TENANT_TOPICS_PREFIX = `${KEY_PREFIX}:topics:`;
export const PRINCIPAL_REGS_PREFIX = `${KEY_PREFIX}:principal-regs:`;

const INDEX_KEYS = `
local function topicKey(t, h, suffix) return '${KEY_PREFIX}:topic:' .. t .. ':' .. h .. ':' .. suffix end
local function tenantKey(t) return '${TENANT_TOPICS_PREFIX}' .. t end
-- A tenant's topic set lists the topics that have registrations: dropped with the topic's last one.
local function forgetTopicIfEmpty(t, h)
  if redis.call('EXISTS', topicKey(t, h, 'regs')) == 0 then redis.call('SREM', tenantKey(t), h) end
end
local function principalKey(t, q) return '${PRINCIPAL_REGS_PREFIX}' .. t .. ':' .. q end
`;

/**
 * KEYS: 1 topic identities hash, 2 topic registrations zset, 3 global expiry zset,
 *       4 tenant topics set (digests of the topics with registrations), 5 principal registrations zset (only when ARGV[8] ~= '')
 * ARGV: 1 identity digest, 2 new id, 3 tenantId, 4 topic, 5 unused (''), 6 expiresAt, 7 now,
 *       8 principal ('' = none), 9 registration key prefix, 10 max live registrations per topic
 *       (0 = no limit), 11 max per principal (0 = no limit), 12 CC/CD 70025 client id ('' = none;
 *       an update without one clears it), 13 topic digest, 14 principal digest ('' = none),
 *       15… the pieces of the packed trigger and subscription.
 * Returns {status, id}: status created | updated | forbidden (another principal owns it) |
 * limit-topic | limit-principal (a new registration would pass a limit; nothing was written).
 */
export const UPSERT = `${INDEX_KEYS}
local function setPieces(key)
  local old = tonumber(redis.call('HGET', key, 'n') or '0')
  local n = #ARGV - 14
  local args = {'n', n}
  for i = 0, n - 1 do
    args[#args + 1] = 's' .. i
    args[#args + 1] = ARGV[15 + i]
  end
  redis.call('HSET', key, unpack(args))
  for i = n, old - 1 do redis.call('HDEL', key, 's' .. i) end
end
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  local key = ARGV[9] .. existing
  local cur = redis.call('HMGET', key, 'e', 'o', 'q')
  if cur[1] and tonumber(cur[1]) > tonumber(ARGV[7]) then
    local owner = cur[2] or ''
    if owner ~= '' and ARGV[8] ~= owner then return {'forbidden', existing} end
    redis.call('HSET', key, 'e', ARGV[6], 'u', ARGV[7])
    setPieces(key)
    if ARGV[12] ~= '' then redis.call('HSET', key, 'k', ARGV[12]) else redis.call('HDEL', key, 'k') end
    if ARGV[8] ~= '' then
      redis.call('HSET', key, 'o', ARGV[8], 'q', ARGV[14])
      redis.call('ZADD', KEYS[5], ARGV[6], existing)
    end
    redis.call('ZADD', KEYS[2], ARGV[6], existing)
    redis.call('ZADD', KEYS[3], ARGV[6], existing)
    redis.call('SADD', KEYS[4], ARGV[13])
    return {'updated', existing}
  end
  -- expired (not yet swept) or dangling: clean it up; a fresh registration may take its place
  if cur[3] then redis.call('ZREM', principalKey(ARGV[3], cur[3]), existing) end
  redis.call('DEL', key)
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], existing)
  redis.call('ZREM', KEYS[3], existing)
  forgetTopicIfEmpty(ARGV[3], ARGV[13])
end
local live = '(' .. ARGV[7]
local maxTopic = tonumber(ARGV[10])
if maxTopic > 0 and redis.call('ZCOUNT', KEYS[2], live, '+inf') >= maxTopic then return {'limit-topic', ''} end
local maxPrincipal = tonumber(ARGV[11])
if ARGV[8] ~= '' and maxPrincipal > 0 and redis.call('ZCOUNT', KEYS[5], live, '+inf') >= maxPrincipal then
  return {'limit-principal', ''}
end
local key = ARGV[9] .. ARGV[2]
redis.call('HSET', key, 't', ARGV[3], 'p', ARGV[4], 'i', ARGV[1],
  'e', ARGV[6], 'c', ARGV[7], 'u', ARGV[7], 'f', 0)
setPieces(key)
if ARGV[8] ~= '' then
  redis.call('HSET', key, 'o', ARGV[8], 'q', ARGV[14])
  redis.call('ZADD', KEYS[5], ARGV[6], ARGV[2])
end
if ARGV[12] ~= '' then redis.call('HSET', key, 'k', ARGV[12]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[13])
return {'created', ARGV[2]}
`;

/**
 * KEYS: 1 registration hash, 2 global expiry zset
 * ARGV: 1 id, 2 tenantId ('' = any), 3 now, 4 principal ('' = none given), 5 identity ('' = any),
 *       6 '1' = strict: a registration bound to a principal needs that same principal, even when
 *       none was given (the tenant API); otherwise only a *different* given principal is refused
 *       (the capability URL alone is enough, docs/security.md "Registrations"), 7 the digest of the registration's topic
 *       (read by the caller: a registration's topic never changes, and Lua has no SHA-256).
 * Returns 1 if a live registration was removed, 0 if none (or expired: it is cleaned up anyway),
 * -1 if the principal does not match.
 */
export const REMOVE = `${INDEX_KEYS}
local r = redis.call('HMGET', KEYS[1], 't', 'p', 'i', 'e', 'o', 'q')
r[2] = ARGV[7]
if not r[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if ARGV[2] ~= '' and r[1] ~= ARGV[2] then return 0 end
if ARGV[5] ~= '' and r[3] ~= ARGV[5] then return 0 end
local owner = r[5] or ''
if owner ~= '' and owner ~= ARGV[4] and (ARGV[4] ~= '' or ARGV[6] == '1') then return -1 end
redis.call('ZREM', topicKey(r[1], r[2], 'regs'), ARGV[1])
local ids = topicKey(r[1], r[2], 'ids')
if redis.call('HGET', ids, r[3]) == ARGV[1] then redis.call('HDEL', ids, r[3]) end
forgetTopicIfEmpty(r[1], r[2])
if r[6] then redis.call('ZREM', principalKey(r[1], r[6]), ARGV[1]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if tonumber(r[4]) > tonumber(ARGV[3]) then return 1 end
return 0
`;

/**
 * KEYS: 1 registration hash. ARGV: 1 outcome ('success' | 'failure'), 2 now.
 * Returns {failures, lastSuccessAt or '', createdAt} or nil when the registration is gone.
 */
export const RECORD = `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
if ARGV[1] == 'success' then
  redis.call('HSET', KEYS[1], 'l', ARGV[2], 'f', 0)
else
  redis.call('HINCRBY', KEYS[1], 'f', 1)
end
local r = redis.call('HMGET', KEYS[1], 'f', 'l', 'c')
return {r[1], r[2] or '', r[3]}
`;
