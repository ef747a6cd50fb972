-- Shared by every routing script (prepended by `RedisStore`).
-- KEYS[1..16]: queue_of, offer, offer_due, live, load, passed, seq, duty, seen, lease, gen,
-- joined, presence, free, by_alias, parked_by_alias (all in the `{route}` slot); KEYS[17] (and
-- on), where used: queues. ARGV[1]: route TTL in ms, and the clock (clock.lua).
local QUEUE_OF, OFFER, OFFER_DUE, LIVE, LOAD, PASSED, SEQ, DUTY, SEEN, LEASE, GEN, JOINED =
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
local PRESENCE, FREE, BY_ALIAS, PARKED_BY_ALIAS, QUEUE = 13, 14, 15, 16, 17
local ROUTE_TTL, now = ttl_and_now(ARGV[1])

-- Every key written gets the routing TTL again (PEXPIRE on an absent key does nothing).
local function touch()
  for i = 1, #KEYS do
    redis.call('PEXPIRE', KEYS[i], ROUTE_TTL)
  end
end

-- Puts `counsellor` in the free set or takes them out, after their load or their presence
-- changed: free while their load is below the slots their presence opens.
local function refresh(counsellor)
  local p = redis.call('HGET', KEYS[PRESENCE], counsellor)
  local open = p and tonumber(string.match(p, '^(%d+) ')) or 0
  if tonumber(redis.call('HGET', KEYS[LOAD], counsellor) or '0') < open then
    redis.call('SADD', KEYS[FREE], counsellor)
  else
    redis.call('SREM', KEYS[FREE], counsellor)
  end
end

-- Takes `counsellor`'s presence out of the indexes (off duty, or gone).
local function unindex(counsellor)
  local p = redis.call('HGET', KEYS[PRESENCE], counsellor)
  if p then
    local member = string.match(p, '^%d+ (.*)$') .. '\n' .. counsellor
    redis.call('ZREM', KEYS[BY_ALIAS], member)
    redis.call('ZREM', KEYS[PARKED_BY_ALIAS], member)
    redis.call('HDEL', KEYS[PRESENCE], counsellor)
  end
  redis.call('SREM', KEYS[FREE], counsellor)
end

-- Appends {counsellor, duty, load} to `out` if `counsellor`'s presence has not expired (the
-- listing scripts: on_duty, open_duty, on_duty_as).
local function list_presence(out, c)
  local due = redis.call('ZSCORE', KEYS[SEEN], c)
  local duty = redis.call('HGET', KEYS[DUTY], c)
  if due and tonumber(due) > now and duty then
    table.insert(out, c)
    table.insert(out, duty)
    table.insert(out, redis.call('HGET', KEYS[LOAD], c) or '0')
  end
end

-- Frees one of `counsellor`'s slots.
local function free(counsellor)
  if redis.call('HINCRBY', KEYS[LOAD], counsellor, -1) <= 0 then
    redis.call('HDEL', KEYS[LOAD], counsellor)
  end
  refresh(counsellor)
end

-- Records that `counsellor` passed on the waiting `conv` now.
local function pass(conv, counsellor)
  if redis.call('HEXISTS', KEYS[QUEUE_OF], conv) == 0 then
    return
  end
  local raw = redis.call('HGET', KEYS[PASSED], conv)
  local passed = raw and cjson.decode(raw) or {}
  passed[counsellor] = now
  redis.call('HSET', KEYS[PASSED], conv, cjson.encode(passed))
end

-- Removes the pending offer of `conv`, if any; returns the counsellor who held it.
local function take_offer(conv, passed)
  local counsellor = redis.call('HGET', KEYS[OFFER], conv)
  if not counsellor then
    return false
  end
  redis.call('HDEL', KEYS[OFFER], conv)
  redis.call('ZREM', KEYS[OFFER_DUE], conv)
  free(counsellor)
  if passed then
    pass(conv, counsellor)
  end
  return counsellor
end
