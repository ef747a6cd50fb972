-- replay (read only): KEYS as in append; ARGV[1] side. Returns {entries, lost}: every kept
-- frame as {n, frame}, and the highest counter lost (or '' when none was).
local out = {}
for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  table.insert(out, {e[2][2], e[2][4]})
end
return {out, redis.call('HGET', KEYS[2], 'lost:' .. ARGV[1]) or ''}
