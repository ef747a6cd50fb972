-- on duty as (read only): ARGV[2] an alias (lowercase), ARGV[3] '1' for the parked presences
-- only. {counsellor, duty, load, …} of every unexpired presence of that account.
local out = {}
local prefix = ARGV[2] .. '\n'
local index = ARGV[3] == '1' and KEYS[PARKED_BY_ALIAS] or KEYS[BY_ALIAS]
for _, m in ipairs(redis.call('ZRANGEBYLEX', index, '[' .. prefix, '[' .. prefix .. '\255')) do
  list_presence(out, string.sub(m, #prefix + 1))
end
return out
