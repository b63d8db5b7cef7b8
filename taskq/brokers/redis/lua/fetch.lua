-- fetch: ack the messages a worker finished, then pop up to `count` messages for it,
-- recording them as unacked. Carrying the acks saves a round trip per batch.
-- ARGV: namespace, queue_name, worker_id, now_ms, count [, acked_id ...].
-- Returns a flat list {id1, payload1, id2, payload2, ...}.
local ns, queue_name, worker, now, count = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local queue = queue_key(ns, queue_name)
local messages = messages_key(ns, queue_name)
local acks = acks_key(ns, worker, queue_name)

-- fetching proves the worker is alive
redis.call("zadd", heartbeats_key(ns), now, worker)
-- remember where this worker holds acks, so its recovery needs no KEYS scan
redis.call("sadd", ack_queues_key(ns, worker), queue_name)

for i = 6, #ARGV do
  -- as in ack.lua: only the holder of the ack may delete the payload
  if redis.call("srem", acks, ARGV[i]) == 1 then
    redis.call("hdel", messages, ARGV[i])
  end
end

local fetched = {}
local taken = 0
while taken < count do
  local message_id = redis.call("lpop", queue)
  if not message_id then
    break
  end
  local payload = redis.call("hget", messages, message_id)
  -- an id without a payload was already acked or flushed: drop it
  if payload then
    redis.call("sadd", acks, message_id)
    fetched[#fetched + 1] = message_id
    fetched[#fetched + 1] = payload
    taken = taken + 1
  end
end

-- keep the wake-up tokens honest: none for an empty queue, at least one for a non-empty one
local notify = notify_key(ns, queue_name)
if redis.call("llen", queue) == 0 then
  redis.call("del", notify)
elseif redis.call("llen", notify) == 0 then
  redis.call("rpush", notify, "1")
end
return fetched
