-- Shared helpers, prepended to every taskq Redis script when it is loaded.
--
-- Key names are Dramatiq's, so taskq and Dramatiq processes can share a namespace:
--   {ns}:{queue}                      list of message ids, oldest first
--   {ns}:{queue}.msgs                 hash: message id -> JSON payload
--   {ns}:{queue}.DQ / .DQ.msgs        the delay queue (same shape)
--   {ns}:{queue}.XQ                   zset of dead-lettered ids, scored by time (ms)
--   {ns}:{queue}.XQ.msgs              hash: dead-lettered id -> payload
--   {ns}:__acks__.{worker}.{queue}    set of ids a worker fetched but has not acked
--   {ns}:__heartbeats__               zset: worker id -> last heartbeat (ms)
-- taskq adds (Dramatiq ignores them):
--   {ns}:{queue}.XQ.reasons           hash: dead-lettered id -> why it died
--   {ns}:__notify__.{queue}           list of wake-up tokens that idle consumers BLPOP
--   {ns}:__ackqueues__.{worker}       set of queues where a worker may hold acks
--   {ns}:__workers__                  hash: worker id -> JSON (hostname, pid, queues)

-- Idle consumers are woken by at most this many tokens per queue at once.
local WAKE_TOKENS_MAX = 16

-- "jobs.DQ" -> "jobs": dead letters of a delay queue belong to its queue.
local function canonical(queue_name)
  if string.sub(queue_name, -3) == ".DQ" then
    return string.sub(queue_name, 1, -4)
  end
  return queue_name
end

local function queue_key(ns, queue_name) return ns .. ":" .. queue_name end
local function messages_key(ns, queue_name) return ns .. ":" .. queue_name .. ".msgs" end
local function dead_key(ns, queue_name) return ns .. ":" .. canonical(queue_name) .. ".XQ" end
local function acks_key(ns, worker, queue_name)
  return ns .. ":__acks__." .. worker .. "." .. queue_name
end
local function heartbeats_key(ns) return ns .. ":__heartbeats__" end
local function notify_key(ns, queue_name) return ns .. ":__notify__." .. queue_name end
local function ack_queues_key(ns, worker) return ns .. ":__ackqueues__." .. worker end
local function workers_key(ns) return ns .. ":__workers__" end

-- Leave up to `count` (default 1) wake-up tokens for idle consumers of queue_name, never
-- more than WAKE_TOKENS_MAX in all (so the list never grows).
local function wake(ns, queue_name, count)
  local key = notify_key(ns, queue_name)
  local missing = math.min(count or 1, WAKE_TOKENS_MAX - redis.call("llen", key))
  for _ = 1, missing do
    redis.call("rpush", key, "1")
  end
end
