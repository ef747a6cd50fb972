-- withdraw: ARGV[2] conv, ARGV[3] counsellor, ARGV[4] passed (1/0).
-- Returns 1, 0 if the pending offer is not theirs.
if redis.call('HGET', KEYS[OFFER], ARGV[2]) ~= ARGV[3] then
  return 0
end
take_offer(ARGV[2], ARGV[4] == '1')
touch()
return 1
