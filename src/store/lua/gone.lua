-- gone: every counsellor whose presence expired is removed, their pending offers are taken
-- back (the visitors keep their places), and {counsellor, {live conv…}, {offered conv…}, …}
-- is returned: to exactly one caller.
local out = {}
local gone = redis.call('ZRANGEBYSCORE', KEYS[SEEN], '-inf', now)
if #gone == 0 then
  return out
end
local offers = redis.call('HGETALL', KEYS[OFFER])
local live = redis.call('HGETALL', KEYS[LIVE])
for _, c in ipairs(gone) do
  redis.call('ZREM', KEYS[SEEN], c)
  redis.call('HDEL', KEYS[DUTY], c)
  unindex(c)
  local theirs_live, theirs_offered = {}, {}
  for i = 1, #live, 2 do
    if live[i + 1] == c then
      table.insert(theirs_live, live[i])
    end
  end
  for i = 1, #offers, 2 do
    if offers[i + 1] == c then
      take_offer(offers[i], false)
      table.insert(theirs_offered, offers[i])
    end
  end
  table.insert(out, c)
  table.insert(out, theirs_live)
  table.insert(out, theirs_offered)
end
touch()
return out
