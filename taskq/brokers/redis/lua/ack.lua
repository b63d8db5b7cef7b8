-- ack: a worker finished one or more messages; forget them.
-- ARGV: namespace, queue_name, worker_id, now_ms, message_id [, message_id ...].
-- Returns how many of the messages were still held by this worker (the others were
-- requeued meanwhile, e.g. after the worker was presumed dead, and are left alone).
local ns, queue_name, worker, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local acks = acks_key(ns, worker, queue_name)
local messages = messages_key(ns, queue_name)

-- acking proves the worker is alive
redis.call("zadd", heartbeats_key(ns), now, worker)
local held = 0
for i = 5, #ARGV do
  -- only the holder of the ack may delete the payload
  if redis.call("srem", acks, ARGV[i]) == 1 then
    redis.call("hdel", messages, ARGV[i])
    held = held + 1
  end
end
return held
