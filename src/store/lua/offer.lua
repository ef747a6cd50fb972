-- offer: ARGV[2] conv, ARGV[3] counsellor, ARGV[4] capacity, ARGV[5] offer TTL in ms.
-- Returns 1, 0 on conflict (offer pending or counsellor full), -1 if conv is not waiting.
local conv, counsellor = ARGV[2], ARGV[3]
if redis.call('HEXISTS', KEYS[QUEUE_OF], conv) == 0 then
  return -1
end
local load = tonumber(redis.call('HGET', KEYS[LOAD], counsellor) or '0')
if redis.call('HEXISTS', KEYS[OFFER], conv) == 1 or load >= tonumber(ARGV[4]) then
  return 0
end
redis.call('HSET', KEYS[OFFER], conv, counsellor)
redis.call('ZADD', KEYS[OFFER_DUE], now + tonumber(ARGV[5]), conv)
redis.call('HINCRBY', KEYS[LOAD], counsellor, 1)
refresh(counsellor)
touch()
return 1
