-- open duty (read only): {counsellor, duty, load, …} of every unexpired presence in the free
-- set (load below the slots open to routing).
local out = {}
for _, c in ipairs(redis.call('SMEMBERS', KEYS[FREE])) do
  list_presence(out, c)
end
return out
