-- enqueue: store and queue one or more messages.
-- ARGV: namespace, then (queue_name, message_id, payload) triples (at most a few thousand:
-- each queue's fields go to one HSET and one RPUSH).
-- Returns the number of messages enqueued.
local ns = ARGV[1]
local order, fields, ids = {}, {}, {}
for i = 2, #ARGV, 3 do
  local queue_name, message_id, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if fields[queue_name] == nil then
    order[#order + 1] = queue_name
    fields[queue_name], ids[queue_name] = {}, {}
  end
  local queue_fields, queue_ids = fields[queue_name], ids[queue_name]
  queue_fields[#queue_fields + 1] = message_id
  queue_fields[#queue_fields + 1] = payload
  queue_ids[#queue_ids + 1] = message_id
end
for _, queue_name in ipairs(order) do
  -- the payloads first, so a consumer never pops an id without its message
  redis.call("hset", messages_key(ns, queue_name), unpack(fields[queue_name]))
  -- then the ids at the tail of the queue, in order
  redis.call("rpush", queue_key(ns, queue_name), unpack(ids[queue_name]))
  -- and a token for each consumer that may be blocked waiting on this queue
  wake(ns, queue_name, #ids[queue_name])
end
return (#ARGV - 1) / 3
