-- expired offers: returns a flat list conv, counsellor, … of the offers taken back.
local out = {}
for _, conv in ipairs(redis.call('ZRANGEBYSCORE', KEYS[OFFER_DUE], '-inf', now)) do
  local counsellor = take_offer(conv, true)
  if counsellor then
    table.insert(out, conv)
    table.insert(out, counsellor)
  else
    redis.call('ZREM', KEYS[OFFER_DUE], conv)
  end
end
touch()
return out
