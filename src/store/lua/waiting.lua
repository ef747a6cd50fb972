-- waiting (read only): KEYS[QUEUE..] the queues. Returns {now, offers, passed, {queue…}}: the
-- Redis clock in ms, HGETALL of the offers and of who passed, and for each queue its members
-- as a flat list of conv, score, join time (ms), all read at one instant.
local queues = {}
for i = QUEUE, #KEYS do
  local members = redis.call('ZRANGE', KEYS[i], 0, -1, 'WITHSCORES')
  local flat = {}
  for j = 1, #members, 2 do
    table.insert(flat, members[j])
    table.insert(flat, members[j + 1])
    table.insert(flat, redis.call('HGET', KEYS[JOINED], members[j]) or tostring(now))
  end
  table.insert(queues, flat)
end
return {tostring(now), redis.call('HGETALL', KEYS[OFFER]), redis.call('HGETALL', KEYS[PASSED]), queues}
