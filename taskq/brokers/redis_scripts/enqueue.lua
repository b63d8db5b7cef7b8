-- enqueue: store and queue one or more messages.
-- ARGV: namespace, then (queue_name, message_id, payload) triples.
-- Returns the number of messages enqueued.
local ns = ARGV[1]
local count = 0
for i = 2, #ARGV, 3 do
  local queue_name, message_id, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  -- the payload first, so a consumer never pops an id without its message
  redis.call("hset", messages_key(ns, queue_name), message_id, payload)
  -- then the id at the tail of the queue
  redis.call("rpush", queue_key(ns, queue_name), message_id)
  -- and a token for a consumer blocked waiting on this queue
  wake(ns, queue_name)
  count = count + 1
end
return count
