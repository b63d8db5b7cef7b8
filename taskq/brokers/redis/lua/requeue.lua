-- requeue: give fetched-but-unstarted messages back, at the head of their queue.
-- ARGV: namespace, queue_name, worker_id, message_id...
-- Returns the number of messages put back.
local ns, queue_name, worker = ARGV[1], ARGV[2], ARGV[3]
local queue = queue_key(ns, queue_name)
local messages = messages_key(ns, queue_name)
local acks = acks_key(ns, worker, queue_name)
local count = 0
-- walk backwards so that LPUSH restores the original order
for i = #ARGV, 4, -1 do
  local message_id = ARGV[i]
  if redis.call("srem", acks, message_id) == 1 and redis.call("hexists", messages, message_id) == 1 then
    redis.call("lpush", queue, message_id)
    count = count + 1
  end
end
if count > 0 then
  wake(ns, queue_name)
end
return count
