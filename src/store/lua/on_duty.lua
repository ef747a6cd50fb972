-- on duty (read only): {counsellor, duty, load, …} of every unexpired presence.
local out = {}
for _, c in ipairs(redis.call('ZRANGEBYSCORE', KEYS[SEEN], '(' .. now, '+inf')) do
  local duty = redis.call('HGET', KEYS[DUTY], c)
  if duty then
    table.insert(out, c)
    table.insert(out, duty)
    table.insert(out, redis.call('HGET', KEYS[LOAD], c) or '0')
  end
end
return out
