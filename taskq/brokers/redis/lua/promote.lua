-- promote: atomically move a due delayed message from its delay queue to its queue.
-- ARGV: namespace, delay_queue_name ("jobs.DQ"), worker_id, delayed_id, new_id, new_payload.
-- Returns 1 if promoted; 0 if this worker no longer holds the delayed message (it was
-- requeued to the delay queue by maintenance, so another worker will promote it).
local ns, delay_queue, worker, delayed_id, new_id, payload =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local queue_name = canonical(delay_queue)

-- ack on the delay queue; if we lost the ack, someone else owns the message now
if redis.call("srem", acks_key(ns, worker, delay_queue), delayed_id) == 0 then
  return 0
end
redis.call("hdel", messages_key(ns, delay_queue), delayed_id)
-- enqueue on the real queue under a fresh id, exactly like enqueue.lua
redis.call("hset", messages_key(ns, queue_name), new_id, payload)
redis.call("rpush", queue_key(ns, queue_name), new_id)
wake(ns, queue_name)
return 1
