-- retire: a worker that closes with nothing unacked leaves the heartbeat set at once.
-- ARGV: namespace, worker_id.
-- Returns 1 if retired, 0 if it still holds acks (maintenance will requeue them later).
local ns, worker = ARGV[1], ARGV[2]
local registry = ack_queues_key(ns, worker)
for _, queue_name in ipairs(redis.call("smembers", registry)) do
  if redis.call("scard", acks_key(ns, worker, queue_name)) > 0 then
    return 0
  end
end
redis.call("del", registry)
redis.call("zrem", heartbeats_key(ns), worker)
redis.call("hdel", workers_key(ns), worker)
return 1
