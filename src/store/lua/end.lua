-- end: ARGV[2] conv, ARGV[3] the queue KEYS[QUEUE] names ('' when the caller saw it not waiting).
-- Returns 1, -2 if conv's queue is no longer ARGV[3] (retry).
local conv = ARGV[2]
local queue = redis.call('HGET', KEYS[QUEUE_OF], conv)
if (queue or '') ~= ARGV[3] then
  return -2
end
take_offer(conv, false)
local live = redis.call('HGET', KEYS[LIVE], conv)
if live then
  redis.call('HDEL', KEYS[LIVE], conv)
  free(live)
end
if queue then
  redis.call('HDEL', KEYS[QUEUE_OF], conv)
  redis.call('ZREM', KEYS[QUEUE], conv)
end
redis.call('HDEL', KEYS[PASSED], conv)
redis.call('ZREM', KEYS[LEASE], conv)
redis.call('HDEL', KEYS[JOINED], conv)
touch()
return 1
