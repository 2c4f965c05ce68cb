import { LuaScript } from './lua-script';

/**
 * Lua steps of a dispatch (dispatch.store.ts). Each is atomic, so a crash never leaves events both
 * pending and claimed, nor a delivery counted twice.
 */

/**
 * KEYS: 1 pending list, 2 dispatch hash, 3 coalescing window (all of one topic's slot). ARGV: 1 now,
 * 2 ttl, 3 coalescing window ms. The topic's entry in the pending buckets is left to the stranded
 * sweep (`EventStore.strandedTopics`), which drops it once it finds nothing pending. Moves everything pending for a topic into the dispatch record
 * and (re)opens the topic's window, so a steady stream of changes makes one push per window.
 * Idempotent: a re-run of the same dispatch (after a worker crash) gets the same events back.
 */
export const CLAIM = new LuaScript(`
local claimed = redis.call('HGET', KEYS[2], 'events')
if claimed then return claimed end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
if #items == 0 then return false end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[3], '1', 'PX', ARGV[3]) end
local json = '[' .. table.concat(items, ',') .. ']'
redis.call('HSET', KEYS[2], 'events', json, 'createdAt', ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return json
`);

/**
 * Lua: once a dispatch's fan-out is complete and every delivery it queued is settled, its "done" set
 * (one member per registration) has served its purpose: deleted then rather than kept for the
 * record's 24 h. The counters stay in the dispatch hash for the event status.
 */
export const DROP_DONE_WHEN_SETTLED = `
local function dropDoneWhenSettled(dispatchKey, doneKey)
  local d = redis.call('HMGET', dispatchKey, 'complete', 'total', 'accepted', 'gone', 'failed', 'skipped')
  if d[1] ~= '1' then return end
  local settled = tonumber(d[3] or 0) + tonumber(d[4] or 0) + tonumber(d[5] or 0) + tonumber(d[6] or 0)
  if settled >= tonumber(d[2] or 0) then redis.call('DEL', doneKey) end
end
`;

/**
 * KEYS: 1 dispatch hash, 2 done set, then each event hash of the dispatch. ARGV: 1 queued (stored as
 * `total`), 2 skipped at fan-out, 3 complete (0/1), 4 dispatch id, then each event's role (primary | coalesced).
 */
export const RECORD_PROGRESS = new LuaScript(`${DROP_DONE_WHEN_SETTLED}
for i = 3, #KEYS do
  redis.call('HSET', KEYS[i], 'dispatchId', ARGV[4], 'role', ARGV[i + 2])
end
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'skippedAtFanout', ARGV[2], 'complete', ARGV[3])
if ARGV[3] == '1' then
  -- The events are no longer needed to re-run the fan-out: a re-run finds it complete.
  redis.call('HSET', KEYS[1], 'events', '[]')
  dropDoneWhenSettled(KEYS[1], KEYS[2])
end
return 1
`);

/** KEYS: 1 topic expiry index, 2 fixed list (identities). ARGV: 1 now, 2 ttl. Made once per dispatch; returns its size. */
export const FIX_TARGETS = new LuaScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('ZRANGESTORE', KEYS[2], KEYS[1], '(' .. ARGV[1], '+inf', 'BYSCORE')
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return redis.call('ZCARD', KEYS[2])
`);
