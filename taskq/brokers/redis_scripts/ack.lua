-- ack: a worker finished a message; forget it.
-- ARGV: namespace, queue_name, worker_id, message_id, now_ms.
-- Returns 1 if the message was held by this worker, else 0 (it was requeued meanwhile).
local ns, queue_name, worker, message_id, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

-- acking proves the worker is alive
redis.call("zadd", heartbeats_key(ns), now, worker)
-- only the holder of the ack may delete the payload
if redis.call("srem", acks_key(ns, worker, queue_name), message_id) == 0 then
  return 0
end
redis.call("hdel", messages_key(ns, queue_name), message_id)
return 1
