-- absent: ARGV[2] counsellor goes off duty.
redis.call('HDEL', KEYS[DUTY], ARGV[2])
redis.call('ZREM', KEYS[SEEN], ARGV[2])
unindex(ARGV[2])
touch()
return 1
