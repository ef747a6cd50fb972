-- present: ARGV[2] counsellor, ARGV[3] their duty (opaque to the store), ARGV[4] TTL in ms.
redis.call('HSET', KEYS[DUTY], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[SEEN], now + tonumber(ARGV[4]), ARGV[2])
touch()
return 1
