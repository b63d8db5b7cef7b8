#!/bin/sh
# Enqueue a message for the taskq actor "add" with redis-cli.
#
#   ./enqueue.sh 2 3     # then run: taskq worker actors --broker redis://127.0.0.1:6379/0
#
# Environment: REDIS_HOST / REDIS_PORT (default 127.0.0.1 / 6379), TASKQ_NAMESPACE (default
# "taskq"; use "dramatiq" to feed a Dramatiq fleet), TASKQ_QUEUE (default "default").
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 X Y   (two integers)" >&2
    exit 2
fi
x=$1
y=$2
namespace=${TASKQ_NAMESPACE:-taskq}
queue=${TASKQ_QUEUE:-default}

new_uuid() {
    if command -v uuidgen >/dev/null 2>&1; then uuidgen; else cat /proc/sys/kernel/random/uuid; fi
}
message_id=$(new_uuid)
redis_message_id=$(new_uuid)       # where the Redis broker files the message: not message_id
timestamp=$(date +%s%3N)           # UNIX time in milliseconds (GNU date)

payload=$(printf '{"queue_name": "%s", "actor_name": "add", "args": [%d, %d], "kwargs": {}, "options": {"redis_message_id": "%s"}, "message_id": "%s", "message_timestamp": %s}' \
    "$queue" "$x" "$y" "$redis_message_id" "$message_id" "$timestamp")

cli() { redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}" "$@" >/dev/null; }
cli HSET "$namespace:$queue.msgs" "$redis_message_id" "$payload"   # the payload first
cli RPUSH "$namespace:$queue" "$redis_message_id"                  # then its id on the queue
echo "enqueued add($x, $y) as message $message_id"
