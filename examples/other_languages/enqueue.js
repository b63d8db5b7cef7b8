// Enqueue a message for the taskq actor "add" from Node.js, through Redis.
//
//   npm install          # once, installs the "redis" client from package.json
//   node enqueue.js 2 3  # then run: taskq worker actors --broker redis://127.0.0.1:6379/0
//
// Environment: REDIS_URL (default redis://127.0.0.1:6379/0), TASKQ_NAMESPACE (default
// "taskq"; use "dramatiq" to feed a Dramatiq fleet), TASKQ_QUEUE (default "default").
"use strict";

const crypto = require("node:crypto");
const { createClient } = require("redis");

async function main() {
  const [x, y] = process.argv.slice(2).map(Number);
  if (!Number.isInteger(x) || !Number.isInteger(y)) {
    console.error("usage: node enqueue.js X Y   (two integers)");
    process.exit(2);
  }
  const namespace = process.env.TASKQ_NAMESPACE || "taskq";
  const queue = process.env.TASKQ_QUEUE || "default";

  // The Redis broker files the message under a second UUID, distinct from message_id.
  const redisMessageId = crypto.randomUUID();
  const message = {
    queue_name: queue,
    actor_name: "add",
    args: [x, y],
    kwargs: {},
    options: { redis_message_id: redisMessageId },
    message_id: crypto.randomUUID(),
    message_timestamp: Date.now(), // UNIX time in milliseconds
  };

  const client = createClient({ url: process.env.REDIS_URL || "redis://127.0.0.1:6379/0" });
  await client.connect();
  // Payload first, then the id at the tail of the queue, in one MULTI/EXEC.
  await client
    .multi()
    .hSet(`${namespace}:${queue}.msgs`, redisMessageId, JSON.stringify(message))
    .rPush(`${namespace}:${queue}`, redisMessageId)
    .exec();
  await client.quit();
  console.log(`enqueued add(${x}, ${y}) as message ${message.message_id}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
