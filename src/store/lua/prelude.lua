-- Shared by every routing script (prepended by `RedisStore`).
-- KEYS[1..12]: queue_of, offer, offer_due, live, load, passed, seq, duty, seen, lease, gen,
-- joined (all in the `{route}` slot); KEYS[13] (and on), where used: queues. ARGV[1]: route
-- TTL in ms.
local QUEUE_OF, OFFER, OFFER_DUE, LIVE, LOAD, PASSED, SEQ, DUTY, SEEN, LEASE, GEN, JOINED, QUEUE =
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- Every key written gets the routing TTL again (PEXPIRE on an absent key does nothing).
local function touch()
  for i = 1, #KEYS do
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
end

-- Frees one of `counsellor`'s slots.
local function free(counsellor)
  if redis.call('HINCRBY', KEYS[LOAD], counsellor, -1) <= 0 then
    redis.call('HDEL', KEYS[LOAD], counsellor)
  end
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
