-- generation: ARGV[2] a fresh random id. Returns the state's generation, created with this
-- id when there is none (a new or wiped Redis); the key lives as long as routing state.
local gen = redis.call('GET', KEYS[GEN])
if not gen then
  gen = ARGV[2]
  redis.call('SET', KEYS[GEN], gen)
end
touch()
return gen
