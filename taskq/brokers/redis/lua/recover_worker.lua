-- recover_worker: requeue every unacked message of a worker whose heartbeat stopped.
-- ARGV: namespace, worker_id, now_ms, heartbeat_timeout_ms, extra queue names...
-- (extra queues cover workers that keep no __ackqueues__ set, such as Dramatiq's).
-- Returns the number of messages requeued, or -1 if the worker is alive after all.
local ns, worker, now, timeout = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local heartbeats = heartbeats_key(ns)

-- re-check inside the script: a heartbeat may have arrived since the caller looked
local last_seen = redis.call("zscore", heartbeats, worker)
if last_seen and tonumber(last_seen) > now - timeout then
  return -1
end

-- every queue where the worker may hold acks, without duplicates
local queues, seen = {}, {}
local registry = ack_queues_key(ns, worker)
local function add(queue_name)
  if not seen[queue_name] then
    seen[queue_name] = true
    queues[#queues + 1] = queue_name
  end
end
for _, queue_name in ipairs(redis.call("smembers", registry)) do add(queue_name) end
for i = 5, #ARGV do add(ARGV[i]) end

local requeued = 0
for _, queue_name in ipairs(queues) do
  local acks = acks_key(ns, worker, queue_name)
  local messages = messages_key(ns, queue_name)
  local queue = queue_key(ns, queue_name)
  local moved = 0
  for _, message_id in ipairs(redis.call("smembers", acks)) do
    -- a payload that is gone was acked by a Dramatiq worker that never removed the id
    if redis.call("hexists", messages, message_id) == 1 then
      redis.call("rpush", queue, message_id)
      moved = moved + 1
    end
  end
  redis.call("del", acks)
  if moved > 0 then
    wake(ns, queue_name)
  end
  requeued = requeued + moved
end

-- forget the worker entirely
redis.call("del", registry)
redis.call("zrem", heartbeats, worker)
redis.call("hdel", workers_key(ns), worker)
return requeued
