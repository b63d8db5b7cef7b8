-- requeue_dead: move dead letters back onto their queue.
-- ARGV: namespace, queue_name, message_id (the Redis ids of the dead letters)...
-- Returns the number of messages requeued.
local ns, queue_name = ARGV[1], ARGV[2]
local dead = dead_key(ns, queue_name)
local queue = queue_key(ns, queue_name)
local messages = messages_key(ns, queue_name)
local count = 0
for i = 3, #ARGV do
  local message_id = ARGV[i]
  local payload = redis.call("hget", dead .. ".msgs", message_id)
  if payload then
    -- out of the dead letters...
    redis.call("zrem", dead, message_id)
    redis.call("hdel", dead .. ".msgs", message_id)
    redis.call("hdel", dead .. ".reasons", message_id)
    -- ...and back at the tail of the queue
    redis.call("hset", messages, message_id, payload)
    redis.call("rpush", queue, message_id)
    count = count + 1
  end
end
if count > 0 then
  wake(ns, queue_name)
end
return count
