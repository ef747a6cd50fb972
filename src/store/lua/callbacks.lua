-- The pending callback requests, all in the `{callbacks}` slot.
-- KEYS[1] items (hash: id -> entry), KEYS[2] by age (sorted set: id -> added ms on the Redis
-- clock), KEYS[3] version (a counter bumped by every addition, removal and expiry).
-- ARGV[1] the operation, ARGV[2] the TTL in ms and the clock (clock.lua); then per operation:
--   add     ARGV[3] id, ARGV[4] entry, ARGV[5] most pending -> 1, -1 id exists, -2 full
--   list    ARGV[3] most listed -> {version, pending, id, age ms, entry, ...}
--   take    ARGV[3] id -> the entry, or false when not pending
--   version -> the version
-- Expired requests are dropped first, oldest first, so only they are looked at.
local ttl, now = ttl_and_now(ARGV[2])

local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
if #expired > 0 then
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
  redis.call('INCR', KEYS[3])
end

-- Every key written lives as long as a request can.
local function touch()
  for i = 1, 3 do
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end

local op = ARGV[1]
if op == 'add' then
  if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 1 then
    return -1
  end
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then
    return -2
  end
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
  redis.call('ZADD', KEYS[2], now, ARGV[3])
  redis.call('INCR', KEYS[3])
  touch()
  return 1
elseif op == 'list' then
  local out = {tonumber(redis.call('GET', KEYS[3]) or '0'), redis.call('HLEN', KEYS[1])}
  local ids = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
  for i = 1, #ids, 2 do
    local entry = redis.call('HGET', KEYS[1], ids[i])
    if entry then
      table.insert(out, ids[i])
      table.insert(out, now - tonumber(ids[i + 1]))
      table.insert(out, entry)
    end
  end
  return out
elseif op == 'take' then
  local entry = redis.call('HGET', KEYS[1], ARGV[3])
  if not entry then
    return false
  end
  redis.call('HDEL', KEYS[1], ARGV[3])
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('INCR', KEYS[3])
  touch()
  return entry
elseif op == 'version' then
  if #expired > 0 then
    touch()
  end
  return tonumber(redis.call('GET', KEYS[3]) or '0')
end
return redis.error_reply('unknown operation')
