-- nack: move a message a worker holds to its queue's dead letters, with a reason.
-- ARGV: namespace, queue_name, worker_id, message_id, now_ms, reason ("" for none).
-- Returns 1 if the message was dead-lettered, else 0.
local ns, queue_name, worker, message_id, now, reason =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local messages = messages_key(ns, queue_name)
local dead = dead_key(ns, queue_name)

redis.call("zadd", heartbeats_key(ns), now, worker)
-- only the holder of the ack may dead-letter the message
if redis.call("srem", acks_key(ns, worker, queue_name), message_id) == 0 then
  return 0
end
local payload = redis.call("hget", messages, message_id)
if not payload then
  return 0
end
-- the dead-letter zset is scored by the time of death, for listing and expiry
redis.call("zadd", dead, now, message_id)
redis.call("hset", dead .. ".msgs", message_id, payload)
if reason ~= "" then
  redis.call("hset", dead .. ".reasons", message_id, reason)
end
redis.call("hdel", messages, message_id)
return 1
