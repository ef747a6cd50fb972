-- on duty as (read only): ARGV[2] an alias (lowercase), ARGV[3] '1' for the parked presences
-- only. {counsellor, duty, load, …} of every unexpired presence of that account.
local out = {}
local prefix = ARGV[2] .. '\n'
local index = ARGV[3] == '1' and KEYS[PARKED_BY_ALIAS] or KEYS[BY_ALIAS]
for _, m in ipairs(redis.call('ZRANGEBYLEX', index, '[' .. prefix, '[' .. prefix .. '\255')) do
  local c = string.sub(m, #prefix + 1)
  local due = redis.call('ZSCORE', KEYS[SEEN], c)
  local duty = redis.call('HGET', KEYS[DUTY], c)
  if due and tonumber(due) > now and duty then
    table.insert(out, c)
    table.insert(out, duty)
    table.insert(out, redis.call('HGET', KEYS[LOAD], c) or '0')
  end
end
return out
