"""Lifecycle events over Redis pub/sub with a capped history; worker heartbeats."""

from __future__ import annotations

import json
import threading

import taskq

from ...helpers import wait_for


def test_events_are_published_to_subscribers_and_kept_in_history(brokers, namespace):
    publisher = brokers(namespace=namespace)
    listener = brokers(namespace=namespace)
    stranger = brokers(namespace=namespace + "-other")
    with (
        listener.subscribe_events(timeout=200) as stream,
        stranger.subscribe_events(timeout=200) as other_stream,
    ):
        received = []
        reader = threading.Thread(
            target=lambda: received.extend(e for e in (next(stream) for _ in range(10)) if e)
        )
        reader.start()
        for i in range(3):
            publisher.publish_event({"event": "enqueued", "message_id": str(i)})
        reader.join(10)
        assert [e["message_id"] for e in received] == ["0", "1", "2"]
        assert next(other_stream) is None
    assert [e["message_id"] for e in listener.recent_events(limit=2)] == ["1", "2"]
    assert stranger.recent_events() == []


def test_a_batch_of_events_arrives_one_by_one_in_order(brokers, namespace):
    publisher = brokers(namespace=namespace)
    listener = brokers(namespace=namespace)
    with listener.subscribe_events(timeout=200) as stream:
        # subscribe_events() returns once Redis confirmed it: nothing to wait for
        assert listener.client.pubsub_numsub(f"{namespace}:__events__") == [
            (f"{namespace}:__events__".encode(), 1)
        ]
        publisher.publish_events([{"event": "started", "message_id": str(i)} for i in range(4)])
        publisher.publish_event({"event": "started", "message_id": "4"})
        received = [next(stream) for _ in range(5)]
    assert [e["message_id"] for e in received] == ["0", "1", "2", "3", "4"]
    assert [e["message_id"] for e in listener.recent_events(limit=3)] == ["2", "3", "4"]


def test_a_plain_redis_subscriber_gets_one_json_object_per_event(brokers, namespace, raw_redis):
    """What a subscriber in another language sees on ``{namespace}:__events__``."""
    publisher = brokers(namespace=namespace)
    pubsub = raw_redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"{namespace}:__events__")
    try:
        wait_for(lambda: raw_redis.pubsub_numsub(f"{namespace}:__events__")[0][1] >= 1)
        publisher.publish_events([{"event": "started", "message_id": str(i)} for i in range(3)])
        payloads: list[bytes] = []

        def three_received() -> bool:
            message = pubsub.get_message(timeout=0.1)
            if message is not None:
                payloads.append(message["data"])
            return len(payloads) >= 3

        wait_for(three_received, message="three event messages")
    finally:
        pubsub.close()
    assert [json.loads(p) for p in payloads] == [
        {"event": "started", "message_id": str(i)} for i in range(3)
    ]


def test_worker_heartbeats_describe_live_workers(redis_broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name)
    def noop():
        pass

    assert redis_broker.worker_heartbeats() == []
    start_worker(redis_broker)
    beats = wait_for(
        lambda: [w for w in redis_broker.worker_heartbeats() if w.get("queues")],
        message="heartbeat with details",
    )
    assert beats[0]["worker_id"] == redis_broker.worker_id
    assert beats[0]["alive"] is True
    assert queue_name in beats[0]["queues"]
    assert isinstance(beats[0]["pid"], int)
