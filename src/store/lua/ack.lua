-- ack a resume buffer: drops frames with n <= ARGV[2]. KEYS as in append; ARGV[1] side.
local upto = tonumber(ARGV[2])
while true do
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if not oldest or tonumber(oldest[2][2]) > upto then
    break
  end
  redis.call('XDEL', KEYS[1], oldest[1])
  redis.call('HINCRBY', KEYS[2], 'bytes:' .. ARGV[1], -#oldest[2][4])
end
return 1
