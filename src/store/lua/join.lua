-- join: ARGV[2] conv, ARGV[3] queue name, ARGV[4] priority (1/0), ARGV[5] max queue length,
-- ARGV[6] max waiting overall, ARGV[7] the lease (resume window) in ms. Returns the position, -1 if already waiting or live, -2 if full.
local conv = ARGV[2]
if redis.call('HEXISTS', KEYS[QUEUE_OF], conv) == 1 or redis.call('HEXISTS', KEYS[LIVE], conv) == 1 then
  return -1
end
if redis.call('ZCARD', KEYS[QUEUE]) >= tonumber(ARGV[5]) or redis.call('HLEN', KEYS[QUEUE_OF]) >= tonumber(ARGV[6]) then
  return -2
end
-- The order score of `store::order_score`: tier 1 (joined), priority bit, sequence.
local score = 2 ^ 51 + (ARGV[4] == '1' and 0 or 2 ^ 50) + redis.call('INCR', KEYS[SEQ])
redis.call('ZADD', KEYS[QUEUE], string.format('%.0f', score), conv)
redis.call('HSET', KEYS[QUEUE_OF], conv, ARGV[3])
redis.call('ZADD', KEYS[LEASE], now + tonumber(ARGV[7]), conv)
redis.call('HSET', KEYS[JOINED], conv, now)
touch()
return redis.call('ZRANK', KEYS[QUEUE], conv) + 1
