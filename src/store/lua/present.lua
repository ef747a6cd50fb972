-- present: ARGV[2] counsellor, ARGV[3] their duty (opaque to the store), ARGV[4] TTL in ms,
-- ARGV[5] the slots open to routing, ARGV[6] the account's alias (lowercase), ARGV[7] '1' when
-- the connection is parked.
local counsellor = ARGV[2]
local old = redis.call('HGET', KEYS[PRESENCE], counsellor)
if old then
  local member = string.match(old, '^%d+ (.*)$') .. '\n' .. counsellor
  redis.call('ZREM', KEYS[BY_ALIAS], member)
  redis.call('ZREM', KEYS[PARKED_BY_ALIAS], member)
end
redis.call('HSET', KEYS[DUTY], counsellor, ARGV[3])
redis.call('ZADD', KEYS[SEEN], now + tonumber(ARGV[4]), counsellor)
redis.call('HSET', KEYS[PRESENCE], counsellor, ARGV[5] .. ' ' .. ARGV[6])
redis.call('ZADD', KEYS[BY_ALIAS], 0, ARGV[6] .. '\n' .. counsellor)
if ARGV[7] == '1' then
  redis.call('ZADD', KEYS[PARKED_BY_ALIAS], 0, ARGV[6] .. '\n' .. counsellor)
end
refresh(counsellor)
touch()
return 1
