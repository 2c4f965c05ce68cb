import { LuaScript } from './lua-script';

/**
 * Lua scripts for registrations. Each is one atomic step on the keys of one topic (one Redis
 * Cluster slot, keys.ts), so a crash or a concurrent request never leaves a half-written
 * registration, and two requests racing for the last free place of a topic cannot both get it
 * (docs/security.md "Limits": limits are checked and spent in the same step).
 *
 * The value of a registration is the byte layout of registration-record.ts: flags at 1, the secret
 * at 2-17, createdAt 18-23, updatedAt 24-29, lastSuccessAt 30-35, failures 36-37, then the
 * principal (a 16-bit length at 38) when flag bit 0 is set (Lua strings count from 1).
 */
const VALUE = `
local function u16(s, i) return s:byte(i) * 256 + s:byte(i + 1) end
local function u48(s, i) local n = 0 for k = i, i + 5 do n = n * 256 + s:byte(k) end return n end
local function p48(n) local t = {} for k = 6, 1, -1 do t[k] = string.char(n % 256) n = math.floor(n / 256) end return table.concat(t) end
local function principalOf(v) if bit.band(v:byte(1), 1) == 0 then return '' end return v:sub(40, 39 + u16(v, 38)) end
local function recordSuccess(v, now) return v:sub(1, 29) .. p48(now) .. string.char(0, 0) .. v:sub(38) end
`;

/** Lua: a registration's success recorded on its topic's hash, if it is still there with this secret. */
export const RECORD_SUCCESS = `${VALUE}
local function succeeded(hash, identity, secret, now)
  local v = redis.call('HGET', hash, identity)
  if v and v:sub(2, 17) == secret then redis.call('HSET', hash, identity, recordSuccess(v, now)) end
end
`;

/**
 * KEYS: 1 topic registrations hash, 2 topic expiry zset, 3 topic meta hash.
 * ARGV: 1 identity, 2 the value of a new registration (its secret new, created = updated = now),
 *       3 expiresAt, 4 now, 5 principal ('' = none), 6 max live registrations per topic (0 = no
 *       limit), 7 tenant id, 8 topic.
 * A live registration of the same identity is updated (its secret, createdAt and delivery record
 * kept), unless another principal owns it. Returns {status, secret, fresh}: status created | updated |
 * forbidden | limit-topic (nothing written, secret ''); fresh 1 when the topic had no registration before.
 */
export const UPSERT = new LuaScript(`${VALUE}
local old = redis.call('HGET', KEYS[1], ARGV[1])
local exp = redis.call('ZSCORE', KEYS[2], ARGV[1])
if old and exp and tonumber(exp) > tonumber(ARGV[4]) then
  local owner = principalOf(old)
  if owner ~= '' and owner ~= ARGV[5] then return {'forbidden', old:sub(2, 17), 0} end
  local v = ARGV[2]
  redis.call('HSET', KEYS[1], ARGV[1], v:sub(1, 1) .. old:sub(2, 23) .. v:sub(24, 29) .. old:sub(30, 37) .. v:sub(38))
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  return {'updated', old:sub(2, 17), 0}
end
-- none, or expired and not yet swept: a fresh registration (a new secret, so a new id) takes its place
local maxTopic = tonumber(ARGV[6])
if maxTopic > 0 and redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[4], '+inf') >= maxTopic then return {'limit-topic', '', 0} end
local fresh = 1 - redis.call('EXISTS', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], 't', ARGV[7], 'p', ARGV[8])
return {'created', ARGV[2]:sub(2, 17), fresh}
`);

/**
 * KEYS: 1 topic registrations hash, 2 topic expiry zset, 3 topic meta hash.
 * ARGV: 1 identity, 2 secret, 3 tenant id ('' = any), 4 now, 5 principal ('' = none given),
 *       6 '1' = strict: a registration bound to a principal needs that same principal, even when
 *       none was given (the tenant API); otherwise only a *different* given principal is refused
 *       (the capability URL alone is enough, docs/security.md "Registrations").
 * Returns {r, principal, tenant, emptied}: r 1 if a live registration was removed, 0 if none (or
 * expired: removed anyway), -1 if the principal does not match; the principal it was bound to
 * ('' = none) and its tenant, for the principal's index; emptied 1 when the topic has none left.
 */
export const REMOVE = new LuaScript(`${VALUE}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v or v:sub(2, 17) ~= ARGV[2] then return {0, '', '', 0} end
local tenant = redis.call('HGET', KEYS[3], 't') or ''
if ARGV[3] ~= '' and tenant ~= ARGV[3] then return {0, '', '', 0} end
local owner = principalOf(v)
if owner ~= '' and owner ~= ARGV[5] and (ARGV[5] ~= '' or ARGV[6] == '1') then return {-1, '', '', 0} end
local exp = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0')
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local emptied = 1 - redis.call('EXISTS', KEYS[2])
if emptied == 1 then redis.call('DEL', KEYS[3]) end
if exp > tonumber(ARGV[4]) then return {1, owner, tenant, emptied} end
return {0, owner, tenant, emptied}
`);

/**
 * KEYS: 1 topic registrations hash. ARGV: 1 identity, 2 secret, 3 outcome ('success' | 'failure'), 4 now.
 * Returns {failures, lastSuccessAt (0 = never), createdAt}, or nil when the registration is gone.
 */
export const RECORD = new LuaScript(`${VALUE}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v or v:sub(2, 17) ~= ARGV[2] then return nil end
if ARGV[3] == 'success' then
  v = recordSuccess(v, tonumber(ARGV[4]))
else
  local f = math.min(u16(v, 36) + 1, 65535)
  v = v:sub(1, 35) .. string.char(math.floor(f / 256), f % 256) .. v:sub(38)
end
redis.call('HSET', KEYS[1], ARGV[1], v)
return {u16(v, 36), u48(v, 30), u48(v, 18)}
`);

/**
 * KEYS: 1 topic registrations hash, 2 topic expiry zset, 3 topic meta hash.
 * ARGV: 1 highest expiry removed ('+inf' = every registration), 2 now, 3 at most this many.
 * Removes registrations soonest to expire first. Returns {removed, of them live, the topic's
 * earliest expiry left ('' = the topic has none left), then identity, principal for each one bound
 * to a principal}.
 */
export const DRAIN = new LuaScript(`${VALUE}
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {0, 0, ''}
for i = 1, #ids, 2 do
  local v = redis.call('HGET', KEYS[1], ids[i])
  if v then
    local owner = principalOf(v)
    if owner ~= '' then out[#out + 1] = ids[i] out[#out + 1] = owner end
  end
  redis.call('HDEL', KEYS[1], ids[i])
  redis.call('ZREM', KEYS[2], ids[i])
  out[1] = out[1] + 1
  if tonumber(ids[i + 1]) > tonumber(ARGV[2]) then out[2] = out[2] + 1 end
end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #first == 0 then
  redis.call('DEL', KEYS[1], KEYS[3])
else
  out[3] = first[2]
end
return out
`);

/**
 * KEYS: 1 principal index (zset of tag + identity → expiresAt). ARGV: 1 member, 2 expiresAt, 3 now,
 * 4 max live registrations of the principal (0 = no limit). Returns 'kept' (already counted),
 * 'new' (counted now) or 'limit' (nothing written). Expired entries go first.
 */
export const RESERVE = new LuaScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 'kept'
end
local max = tonumber(ARGV[4])
if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return 'limit' end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 'new'
`);

/** KEYS: 1 a zset. ARGV: 1 member, 2 its score when read. Removes it only if nobody changed it since. */
export const REMOVE_IF_UNCHANGED = new LuaScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`);
