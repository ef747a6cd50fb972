-- open a conversation's meta: KEYS[1] meta; ARGV 1 TTL in ms, 2 SHA-256 of the resume token.
-- Returns 1, 0 if it exists.
if redis.call('HSETNX', KEYS[1], 'token', ARGV[2]) == 0 then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
