-- on duty (read only): {counsellor, duty, load, …} of every unexpired presence.
local out = {}
for _, c in ipairs(redis.call('ZRANGEBYSCORE', KEYS[SEEN], '(' .. now, '+inf')) do
  list_presence(out, c)
end
return out
