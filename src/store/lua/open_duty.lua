-- open duty (read only): {counsellor, duty, load, …} of every unexpired presence in the free
-- set (load below the slots open to routing).
local out = {}
for _, c in ipairs(redis.call('SMEMBERS', KEYS[FREE])) do
  local due = redis.call('ZSCORE', KEYS[SEEN], c)
  local duty = redis.call('HGET', KEYS[DUTY], c)
  if due and tonumber(due) > now and duty then
    table.insert(out, c)
    table.insert(out, duty)
    table.insert(out, redis.call('HGET', KEYS[LOAD], c) or '0')
  end
end
return out
