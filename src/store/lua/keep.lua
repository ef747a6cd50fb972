-- keep: ARGV[2] conv, ARGV[3] lease in ms. Returns 1, 0 if conv has no lease (ended or lapsed).
if not redis.call('ZSCORE', KEYS[LEASE], ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[LEASE], 'XX', now + tonumber(ARGV[3]), ARGV[2])
touch()
return 1
