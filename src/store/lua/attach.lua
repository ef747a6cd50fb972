-- attach a connection to one end: KEYS[1] meta; ARGV 1 TTL in ms, 2 side, 3 connection,
-- 4 SHA-256 of the resume token ('' when not checked). Returns {1, previous connection or ''},
-- or {0, ''} when the conversation is gone or the token does not match. (Comparing hashes,
-- not tokens, so the comparison's timing says nothing about the token.)
local token = redis.call('HGET', KEYS[1], 'token')
if not token or (ARGV[4] ~= '' and token ~= ARGV[4]) then
  return {0, ''}
end
local field = 'at:' .. ARGV[2]
local previous = redis.call('HGET', KEYS[1], field) or ''
redis.call('HSET', KEYS[1], field, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {1, previous}
