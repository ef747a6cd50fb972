-- lapsed: conversations whose lease ran out, each claimed by one caller for ARGV[2] ms (if
-- that caller dies before ending it, another claims it after that).
local due = redis.call('ZRANGEBYSCORE', KEYS[LEASE], '-inf', now)
for _, conv in ipairs(due) do
  redis.call('ZADD', KEYS[LEASE], now + tonumber(ARGV[2]), conv)
end
touch()
return due
