-- expire_dead: delete dead letters older than the dead-message TTL.
-- ARGV: namespace, cutoff_ms (dead before this time are deleted), queue names...
-- Returns the number of dead letters deleted.
local ns, cutoff = ARGV[1], ARGV[2]
local deleted = 0
for i = 3, #ARGV do
  local dead = dead_key(ns, ARGV[i])
  local expired = redis.call("zrangebyscore", dead, "-inf", cutoff)
  for _, message_id in ipairs(expired) do
    -- payload and reason go with the id
    redis.call("hdel", dead .. ".msgs", message_id)
    redis.call("hdel", dead .. ".reasons", message_id)
  end
  redis.call("zremrangebyscore", dead, "-inf", cutoff)
  deleted = deleted + #expired
end
return deleted
