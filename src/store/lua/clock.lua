-- The scripts' time, prepended to the routing scripts (before the prelude) and to
-- callbacks.lua. A script's TTL argument carries the clock: '<ttl ms>' alone means Redis's own
-- clock (TIME: one clock for every node, whatever their skew); '<ttl ms>@<now ms>' is the
-- time of a virtual clock (`lyt::clock`, in tests). Returns the TTL and now, in ms.
local function ttl_and_now(arg)
  local ttl, at = string.match(arg, '^(%d+)@?(%d*)$')
  if at ~= '' then
    return tonumber(ttl), tonumber(at)
  end
  local t = redis.call('TIME')
  return tonumber(ttl), tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
