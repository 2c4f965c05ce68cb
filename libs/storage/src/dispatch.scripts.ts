import { LuaScript } from './lua-script';

/**
 * Lua steps of a dispatch (dispatch.store.ts). Each is atomic, so a crash never leaves events both
 * pending and claimed, nor a delivery counted twice.
 */

/**
 * Lua, the claim CLAIM_AND_LIST begins with: moves everything pending for a topic into
 * the dispatch record and (re)opens the topic's window, so a steady stream of changes makes one
 * push per window. Idempotent: a re-run of the same dispatch (after a worker crash) gets the same
 * events back. The topic's entry in the pending buckets is left to the stranded sweep
 * (`EventStore.strandedTopics`), which drops it once it finds nothing pending.
 * KEYS: 1 pending list, 2 dispatch hash, 3 coalescing window. ARGV: 1 now, 2 ttl, 3 window ms.
 */
const CLAIM_STEP = `
local claimed = redis.call('HGET', KEYS[2], 'events')
if not claimed then
  local items = redis.call('LRANGE', KEYS[1], 0, -1)
  redis.call('DEL', KEYS[1])
  if #items == 0 then return false end
  if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[3], '1', 'PX', ARGV[3]) end
  claimed = '[' .. table.concat(items, ',') .. ']'
  redis.call('HSET', KEYS[2], 'events', claimed, 'createdAt', ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
`;

/** Lua: the dispatch's fixed list of live registrations (identities), made once per dispatch; returns its size. */
const FIX_TARGETS_STEP = `
local function fixTargets(expiryKey, listKey, now, ttl)
  if redis.call('EXISTS', listKey) == 0 then
    redis.call('ZRANGESTORE', listKey, expiryKey, '(' .. now, '+inf', 'BYSCORE')
    redis.call('EXPIRE', listKey, ttl)
  end
  return redis.call('ZCARD', listKey)
end
`;

/**
 * A fan-out's first round trip: claim (CLAIM_STEP), then, unless the dispatch is complete already
 * (a re-run after it finished), fix its list of targets (FIX_TARGETS_STEP) and read the first page of it
 * with the registrations' stored values and expiries. One topic, one slot: every key carries the topic's tag.
 * KEYS: 1 pending list, 2 dispatch hash, 3 coalescing window, 4 topic expiry zset, 5 dispatch
 * target list, 6 topic registrations hash. ARGV: 1 now, 2 ttl, 3 window ms, 4 page size.
 * Returns false (nothing claimed), {events, 1} (complete) or {events, 0, listed, identities, values, expiries}.
 */
export const CLAIM_AND_LIST = new LuaScript(`${FIX_TARGETS_STEP}${CLAIM_STEP}
if redis.call('HGET', KEYS[2], 'complete') == '1' then return {claimed, 1} end
local listed = fixTargets(KEYS[4], KEYS[5], ARGV[1], ARGV[2])
local page = redis.call('ZRANGE', KEYS[5], 0, tonumber(ARGV[4]) - 1, 'WITHSCORES')
local identities, expiries, values = {}, {}, {}
for i = 1, #page, 2 do
  identities[#identities + 1] = page[i]
  expiries[#expiries + 1] = page[i + 1]
end
if #identities > 0 then values = redis.call('HMGET', KEYS[6], unpack(identities)) end
return {claimed, 0, listed, identities, values, expiries}
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
 * KEYS: 1 dispatch hash, 2 done set, 3 fixed target list, then each event hash of the dispatch.
 * ARGV: 1 queued (stored as `total`), 2 skipped at fan-out, 3 complete (0/1), 4 dispatch id, then
 * each event's role (primary | coalesced).
 */
export const RECORD_PROGRESS = new LuaScript(`${DROP_DONE_WHEN_SETTLED}
for i = 4, #KEYS do
  redis.call('HSET', KEYS[i], 'dispatchId', ARGV[4], 'role', ARGV[i + 1])
end
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'skippedAtFanout', ARGV[2], 'complete', ARGV[3])
if ARGV[3] == '1' then
  -- The events and the list are no longer needed to re-run the fan-out: a re-run finds it
  -- complete. In the same step, so a list is never gone from a fan-out that is not complete (a
  -- re-run would make another one, of the registrations live by then).
  redis.call('HSET', KEYS[1], 'events', '[]')
  redis.call('DEL', KEYS[3])
  dropDoneWhenSettled(KEYS[1], KEYS[2])
end
return 1
`);
