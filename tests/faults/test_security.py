"""Security defaults: JSON only (a pickle on the queue is never unpickled), metrics on
127.0.0.1, no password in any log line or repr, and no wire actor name reaching anything that
is not a registered actor."""

from __future__ import annotations

import importlib
import pickle
import signal
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

import taskq
from taskq.broker import Broker, _reset_global_broker
from taskq.brokers.redis import RedisBroker
from tests.helpers import wait_for

from .support import RedisServer, WorkerCLI, fault_env, spare_port

pytestmark = pytest.mark.faults

REDIS_PASSWORD = "s3cret-Redis-pw"
AMQP_PASSWORD = "s3cret-Amqp-pw"


class CreatesFile:
    """Unpickling this object creates ``path``: proof of code execution."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


@pytest.fixture(params=["sqlite", "redis", "rabbitmq"])
def real_broker(request: pytest.FixtureRequest) -> Iterator[tuple[Broker, Any]]:
    factory = importlib.import_module(f"tests.factories.{request.param}")
    with factory.make_broker() as broker:
        taskq.set_broker(broker)
        try:
            yield broker, factory
        finally:
            _reset_global_broker()


def test_pickle_payload_is_dead_lettered_never_unpickled(
    real_broker: tuple[Broker, Any], queue_name: str, start_worker: Any, tmp_path: Path
) -> None:
    broker, factory = real_broker
    proof, target = tmp_path / "proof", tmp_path / "pwned"
    pickle.loads(pickle.dumps(CreatesFile(proof)))  # noqa: S301 - shows the payload is live
    assert proof.exists()
    payload = pickle.dumps(CreatesFile(target), protocol=2)
    seen: list[int] = []

    @taskq.actor(queue_name=queue_name, max_retries=0)
    def ok(n: int) -> None:
        seen.append(n)

    factory.push_raw(broker, queue_name, payload)
    ok.send(1)
    start_worker(broker, worker_threads=2)
    letters = wait_for(lambda: broker.dead_letter_messages(queue_name), 30, message="letter")
    wait_for(lambda: seen == [1], 30, message="the good message")
    assert not target.exists()
    assert bytes(letters[0].raw) == payload
    assert "not valid UTF-8 JSON" in (letters[0].reason or "")


def test_json_is_the_encoder_unless_configured() -> None:
    import subprocess

    code = "import taskq.encoder as e; print(type(e.get_encoder()).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "JSONEncoder"


@pytest.mark.parametrize(
    "actor_name",
    ["os.system", "builtins.eval", "subprocess:call", "__import__", "antigravity", "this.x"],
)
def test_wire_actor_names_never_import_or_call(
    actor_name: str, queue_name: str, start_worker: Any, tmp_path: Path
) -> None:
    from tests.factories.sqlite import make_broker

    target = tmp_path / "pwned"
    with make_broker() as broker:

        @taskq.actor(broker=broker, queue_name=queue_name)
        def registered() -> None:
            pass

        modules_before = set(sys.modules)
        message = taskq.Message(
            queue_name=queue_name, actor_name=actor_name, args=(f"touch {target}",)
        )
        broker.enqueue(message)
        start_worker(broker, worker_threads=1)
        letters = wait_for(lambda: broker.dead_letter_messages(queue_name), 30, message="letter")
        assert letters[0].reason == f"unknown actor {actor_name!r}"
        assert not target.exists()
        assert set(sys.modules) - modules_before <= {
            name for name in sys.modules if name.startswith(("taskq", "tests"))
        }
        assert "antigravity" not in sys.modules and "this" not in sys.modules


# -- the command line: metrics bind and passwords ------------------------------------------
GLOBAL_APP = """
import taskq

@taskq.actor(queue_name="{queue}", max_retries=0)
def noop(n):
    # one write: print("processed", n) writes its parts separately, and a log line from
    # another thread of the worker can land between them ("processed<log line> 7")
    print(f"processed {{n}}", flush=True)
"""


def write_app(tmp_path: Path, queue: str) -> str:
    (tmp_path / "secapp.py").write_text(textwrap.dedent(GLOBAL_APP.format(queue=queue)))
    return "secapp"


def run_worker(tmp_path: Path, url: str, *extra: str, **env: str) -> WorkerCLI:
    environment = fault_env()
    environment.update(env)
    return WorkerCLI(
        environment,
        tmp_path / "worker.log",
        "secapp",
        "--path",
        str(tmp_path),
        "-p",
        "1",
        "-t",
        "1",
        "-vv",
        "--broker",
        url,
        *extra,
    )


def test_metrics_server_binds_loopback_by_default(tmp_path: Path, queue_name: str) -> None:
    port = spare_port()
    write_app(tmp_path, queue_name)
    url = f"sqlite:///{tmp_path / 'q.db'}"
    cli = run_worker(tmp_path, url, taskq_prom_port=str(port))
    try:
        cli.wait_children(1)

        def listening() -> list[Any]:
            connections = psutil.Process(cli.pid).net_connections(kind="tcp")
            return [c for c in connections if c.status == psutil.CONN_LISTEN]

        sockets = wait_for(listening, 30, message="the metrics server")
        assert [(c.laddr.ip, c.laddr.port) for c in sockets] == [("127.0.0.1", port)]
    finally:
        cli.signal(signal.SIGTERM)
        cli.wait(30)
        cli.kill_all()


def _assert_no_secret(text: str, secret: str) -> None:
    assert secret not in text, [line for line in text.splitlines() if secret in line][:5]


def test_redis_password_never_logged(tmp_path: Path, queue_name: str) -> None:
    server = RedisServer(tmp_path, spare_port())
    server.start("--requirepass", REDIS_PASSWORD)
    write_app(tmp_path, queue_name)
    good = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{server.port}/0"
    try:
        cli = run_worker(tmp_path, good)
        try:
            cli.wait_children(1)
            broker = RedisBroker(url=good)
            try:
                _assert_no_secret(repr(broker), REDIS_PASSWORD)
                broker.declare_queue(queue_name)
                broker.enqueue(taskq.Message(queue_name=queue_name, actor_name="noop", args=(7,)))
                cli.wait_for_output("processed 7", 60)
            finally:
                broker.close()
            cli.signal(signal.SIGTERM)
            assert cli.wait(30) == 0
        finally:
            cli.kill_all()
        wrong = f"redis://:wrong-{REDIS_PASSWORD}@127.0.0.1:{server.port}/0"
        failing = run_worker(tmp_path, wrong)
        try:
            assert failing.wait(60) == 3
        finally:
            failing.kill_all()
        output = (tmp_path / "worker.log").read_text()
        assert "cannot reach" in output
        _assert_no_secret(output, REDIS_PASSWORD)
    finally:
        server.stop()


def test_amqp_password_never_logged(tmp_path: Path, queue_name: str) -> None:
    import taskq.brokers.rabbitmq as rabbitmq

    write_app(tmp_path, queue_name)
    url = f"amqp://guest:{AMQP_PASSWORD}@127.0.0.1:5672/%2F"
    broker = rabbitmq.RabbitmqBroker(url=url)
    _assert_no_secret(repr(broker), AMQP_PASSWORD)
    cli = run_worker(tmp_path, url)
    try:
        assert cli.wait(90) == 3  # RabbitMQ refuses the wrong password: unreachable at start
    finally:
        cli.kill_all()
    output = cli.output()
    assert "cannot reach" in output
    _assert_no_secret(output, AMQP_PASSWORD)
    guest = "amqp://guest:guest@127.0.0.1:5672/%2F"
    cli = run_worker(tmp_path, guest)
    try:
        cli.wait_children(1)
        wait_for(lambda: "Worker process started" in cli.output(), 60, message="start")
        cli.signal(signal.SIGTERM)
        assert cli.wait(30) == 0
    finally:
        cli.kill_all()
    _assert_no_secret(cli.output(), ":guest@")


def test_unreachable_redis_error_masks_password() -> None:
    from taskq.brokers.redis import RedisBroker

    broker = RedisBroker(url=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{spare_port()}/0")
    try:
        with pytest.raises(Exception) as raised:
            broker.enqueue(taskq.Message(queue_name="q", actor_name="a"))
        _assert_no_secret(str(raised.value), REDIS_PASSWORD)
        _assert_no_secret(repr(broker), REDIS_PASSWORD)
    finally:
        broker.close()
