-- detach: KEYS[1] meta; ARGV 1 side, 2 connection. Only the connection still attached.
if redis.call('HGET', KEYS[1], 'at:' .. ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], 'at:' .. ARGV[1])
  return 1
end
return 0
