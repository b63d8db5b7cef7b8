-- stats: counts per queue, read in one consistent snapshot.
-- ARGV: namespace, queue names...
-- Returns {ready, delayed, in_flight, dead} for each queue, flattened.
local ns = ARGV[1]
local workers = redis.call("zrange", heartbeats_key(ns), 0, -1)
local out = {}
for i = 2, #ARGV do
  local queue_name = ARGV[i]
  -- in flight: fetched by any worker, live or not yet recovered, and not acked
  local in_flight = 0
  for _, worker in ipairs(workers) do
    in_flight = in_flight + redis.call("scard", acks_key(ns, worker, queue_name))
  end
  out[#out + 1] = redis.call("llen", queue_key(ns, queue_name))
  -- delayed: every payload of the delay queue, waiting in Redis or held by a worker
  out[#out + 1] = redis.call("hlen", messages_key(ns, queue_name .. ".DQ"))
  out[#out + 1] = in_flight
  out[#out + 1] = redis.call("zcard", dead_key(ns, queue_name))
end
return out
