-- waiting (read only): KEYS[QUEUE..] the queues. Returns {now, offers, passed, {queue…}}: the
-- Redis clock in ms, HGETALL of the offers and of who passed, and each queue's members with
-- their scores, all read at one instant.
local queues = {}
for i = QUEUE, #KEYS do
  table.insert(queues, redis.call('ZRANGE', KEYS[i], 0, -1, 'WITHSCORES'))
end
return {tostring(now), redis.call('HGETALL', KEYS[OFFER]), redis.call('HGETALL', KEYS[PASSED]), queues}
