-- live (read only): {conv, counsellor, …} of every live conversation.
return redis.call('HGETALL', KEYS[LIVE])
