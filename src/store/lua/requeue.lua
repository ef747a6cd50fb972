-- requeue at the front: ARGV[2] conv, ARGV[3] the new queue (KEYS[QUEUE + 1]), ARGV[4]
-- priority (1/0), ARGV[5] the queue it waits in now (KEYS[QUEUE]; '' when not waiting),
-- ARGV[6] the counsellor who passed on it by transferring ('' for none), ARGV[7] the
-- counsellor it must be live with ('' for any).
-- From live, offered or waiting, to the front of the new queue, freeing any slot it held.
-- Returns the position, -1 if conv is neither live nor waiting, -2 if it moved (retry), -3
-- if it is not live with ARGV[7].
local conv = ARGV[2]
local queue = redis.call('HGET', KEYS[QUEUE_OF], conv)
if (queue or '') ~= ARGV[5] then
  return -2
end
local live = redis.call('HGET', KEYS[LIVE], conv)
if not live and not queue then
  return -1
end
if ARGV[7] ~= '' and live ~= ARGV[7] then
  return -3
end
if live then
  redis.call('HDEL', KEYS[LIVE], conv)
  free(live)
end
take_offer(conv, false)
if queue then
  redis.call('ZREM', KEYS[QUEUE], conv)
end
-- The order score of `store::order_score`: tier 0 (front), priority bit, sequence.
local score = (ARGV[4] == '1' and 0 or 2 ^ 50) + redis.call('INCR', KEYS[SEQ])
redis.call('ZADD', KEYS[QUEUE + 1], string.format('%.0f', score), conv)
redis.call('HSET', KEYS[QUEUE_OF], conv, ARGV[3])
if ARGV[6] ~= '' then
  pass(conv, ARGV[6])
end
touch()
return redis.call('ZRANK', KEYS[QUEUE + 1], conv) + 1
