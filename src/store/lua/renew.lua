-- renew: ARGV[2] TTL in ms, ARGV[3..] counsellors. Extends the presence of each one present;
-- returns the ones with no presence (the caller publishes theirs again).
local missing = {}
local due = now + tonumber(ARGV[2])
for i = 3, #ARGV do
  if redis.call('HEXISTS', KEYS[DUTY], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[SEEN], due, ARGV[i])
  else
    table.insert(missing, ARGV[i])
  end
end
touch()
return missing
