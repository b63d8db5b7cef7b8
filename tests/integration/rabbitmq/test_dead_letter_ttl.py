"""RabbitmqBroker takes dead_letter_ttl as an argument; the environment variable is only its
default. It is the x-message-ttl of the .XQ queue, so every declarer must use the same."""

from __future__ import annotations

import pytest

from taskq.brokers.rabbitmq import DEAD_MESSAGE_TTL, RabbitmqBroker
from taskq.errors import BrokerError

from ...factories.rabbitmq import make_broker

pytestmark = pytest.mark.rabbitmq


def test_the_dead_letter_queue_is_declared_with_dead_letter_ttl(queue_name):
    with make_broker(dead_letter_ttl=60_000) as broker:
        assert broker.dead_letter_ttl == 60_000
        broker.declare_queue(queue_name, ensure=True)
        with make_broker() as default:
            assert default.dead_letter_ttl == DEAD_MESSAGE_TTL
            with pytest.raises(BrokerError, match=r"\.XQ"):
                default.declare_queue(queue_name, ensure=True)
        with make_broker(dead_letter_ttl=60_000) as same:
            same.declare_queue(queue_name, ensure=True)


def test_dead_letter_ttl_must_be_a_positive_number_of_ms():
    with pytest.raises(ValueError, match="dead_letter_ttl"):
        RabbitmqBroker(url="amqp://127.0.0.1:5672/%2F", dead_letter_ttl=0)
