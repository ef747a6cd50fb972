-- accept: ARGV[2] conv, ARGV[3] counsellor, ARGV[4] the queue KEYS[QUEUE] names.
-- Returns 1, 0 if the live offer is not theirs, -2 if conv is no longer in that queue (retry).
local conv = ARGV[2]
local due = tonumber(redis.call('ZSCORE', KEYS[OFFER_DUE], conv) or '0')
if redis.call('HGET', KEYS[OFFER], conv) ~= ARGV[3] or due <= now then
  return 0
end
if redis.call('HGET', KEYS[QUEUE_OF], conv) ~= ARGV[4] then
  return -2
end
redis.call('HDEL', KEYS[OFFER], conv)
redis.call('ZREM', KEYS[OFFER_DUE], conv)
redis.call('HDEL', KEYS[QUEUE_OF], conv)
redis.call('ZREM', KEYS[QUEUE], conv)
redis.call('HDEL', KEYS[PASSED], conv)
redis.call('HSET', KEYS[LIVE], conv, ARGV[3])
touch()
return 1
