"""Dramatiq's RabbitmqBroker names: deleting the producer connection or channel, the filter
that quiets pika's reports of broken connections on close, the attempt constants."""

from __future__ import annotations

import logging

import pytest

import taskq
from taskq.brokers.rabbitmq import MAX_DECLARE_ATTEMPTS, MAX_ENQUEUE_ATTEMPTS, _IgnoreScaryLogs

from ...factories.rabbitmq import make_broker

pytestmark = pytest.mark.rabbitmq


def test_deleting_the_connection_or_channel_reopens_them_on_next_use(queue_name):
    with make_broker() as broker:
        first_connection, first_channel = broker.connection, broker.channel
        del broker.channel
        del broker.channel  # twice is fine
        assert not first_channel.is_open
        assert broker.channel is not first_channel
        del broker.connection
        del broker.connection
        assert not first_connection.is_open

        @taskq.actor(queue_name=queue_name, broker=broker)
        def work():
            pass

        assert work.send()
        assert broker.connection is not first_connection and broker.connection.is_open


def test_closing_filters_pikas_broken_pipe_reports_once():
    names = ("pika.adapters.base_connection", "pika.adapters.blocking_connection")
    loggers = [logging.getLogger(name) for name in names]
    before = [list(pika_logger.filters) for pika_logger in loggers]
    try:
        with make_broker() as broker:
            broker.close()
            broker.close()
        for pika_logger in loggers:
            ours = [f for f in pika_logger.filters if isinstance(f, _IgnoreScaryLogs)]
            assert len(ours) == 1
            record = logging.LogRecord(pika_logger.name, logging.ERROR, "", 0, "x", (), None)
            record.msg = "Socket failed: ConnectionError('Broken pipe')"
            assert not ours[0].filter(record)
            record.msg = "something else"
            assert ours[0].filter(record)
    finally:
        for pika_logger, kept in zip(loggers, before, strict=True):
            for added in [f for f in pika_logger.filters if f not in kept]:
                pika_logger.removeFilter(added)


def test_dramatiqs_attempt_constants_exist():
    assert (MAX_ENQUEUE_ATTEMPTS, MAX_DECLARE_ATTEMPTS) == (6, 2)
