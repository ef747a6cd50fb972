-- append to a resume buffer. KEYS[1] the stream, KEYS[2] the conversation's meta hash (one
-- `{conv:<id>}` slot). ARGV: 1 TTL in ms, 2 side, 3 counter n, 4 frame, 5 max frames,
-- 6 max bytes, 7 a node inbox channel to publish to as well ('' for none), 8 the header
-- published before the frame. Past either cap the oldest frames are dropped and the highest
-- dropped counter is kept as `lost:<side>`. A counter not above the last one kept (`last:<side>`)
-- is a retry of a call whose answer was lost (a timeout while Redis stalled): it is neither
-- kept nor published again, and -1 is returned. ARGV[9], when not '', is the writer's connection:
-- the record must exist and name it at the other end (`at:c` for frames to the visitor, `at:v`
-- for frames to the counsellor), else -2 and nothing is written (a fenced, stale writer).
local side = ARGV[2]
if ARGV[9] ~= '' then
  local other = side == 'v' and 'at:c' or 'at:v'
  if redis.call('HGET', KEYS[2], 'token') == false
    or redis.call('HGET', KEYS[2], other) ~= ARGV[9] then
    return -2
  end
end
local last = tonumber(redis.call('HGET', KEYS[2], 'last:' .. side) or '-1')
if tonumber(ARGV[3]) <= last then
  return -1
end
redis.call('HSET', KEYS[2], 'last:' .. side, ARGV[3])
redis.call('XADD', KEYS[1], '*', 'n', ARGV[3], 'f', ARGV[4])
local bytes = redis.call('HINCRBY', KEYS[2], 'bytes:' .. side, #ARGV[4])
local len = redis.call('XLEN', KEYS[1])
while len > tonumber(ARGV[5]) or bytes > tonumber(ARGV[6]) do
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if not oldest then
    break
  end
  local n, frame = tonumber(oldest[2][2]), oldest[2][4]
  redis.call('XDEL', KEYS[1], oldest[1])
  bytes = redis.call('HINCRBY', KEYS[2], 'bytes:' .. side, -#frame)
  local lost = tonumber(redis.call('HGET', KEYS[2], 'lost:' .. side) or '-1')
  if n > lost then
    redis.call('HSET', KEYS[2], 'lost:' .. side, oldest[2][2])
  end
  len = len - 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
if ARGV[7] ~= '' then
  redis.call('PUBLISH', ARGV[7], ARGV[8] .. ARGV[4])
end
return len
