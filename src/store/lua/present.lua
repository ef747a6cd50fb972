-- present: ARGV[2] counsellor, ARGV[3] their duty (opaque to the store), ARGV[4] TTL in ms,
-- ARGV[5] the slots open to routing, ARGV[6] the account's alias (lowercase).
local counsellor = ARGV[2]
local old = redis.call('HGET', KEYS[PRESENCE], counsellor)
if old then
  redis.call('ZREM', KEYS[BY_ALIAS], string.match(old, '^%d+ (.*)$') .. '\n' .. counsellor)
end
redis.call('HSET', KEYS[DUTY], counsellor, ARGV[3])
redis.call('ZADD', KEYS[SEEN], now + tonumber(ARGV[4]), counsellor)
redis.call('HSET', KEYS[PRESENCE], counsellor, ARGV[5] .. ' ' .. ARGV[6])
redis.call('ZADD', KEYS[BY_ALIAS], 0, ARGV[6] .. '\n' .. counsellor)
refresh(counsellor)
touch()
return 1
