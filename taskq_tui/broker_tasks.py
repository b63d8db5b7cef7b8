"""Broker-changing actions of the app (enqueue, requeue, purge, abort), each in a thread worker,
each refused in --read-only mode and confirmed first when destructive."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import get_current_worker

from taskq.message import Message

from .screens.confirm import ConfirmScreen
from .screens.enqueue import EnqueueRequest, EnqueueScreen

if TYPE_CHECKING:
    from .app import TaskqApp


class BrokerTasks:
    """Mixed into :class:`TaskqApp`."""

    def refuse_if_read_only(self: TaskqApp, what: str) -> bool:
        """True (and a notice) when read-only mode forbids ``what``."""
        if self.config.read_only:
            self.notify(f"Read-only mode: {what} is disabled.", severity="warning")
            return True
        return False

    # -- enqueue / retry --------------------------------------------------------------------
    def action_enqueue(self: TaskqApp, actor_name: str = "") -> None:
        """Open the enqueue form (prefilled with ``actor_name`` when given)."""
        queue = self.known_actors().get(actor_name, "default")
        self.open_enqueue_form(EnqueueRequest(actor_name, queue))

    def open_enqueue_form(
        self: TaskqApp, prefill: EnqueueRequest, title: str = "Enqueue a message"
    ) -> None:
        """Show the form; a submitted request is enqueued."""
        if self.refuse_if_read_only("enqueueing"):
            return

        def submitted(request: EnqueueRequest | None) -> None:
            if request is not None:
                self.enqueue_request(request)

        self.push_screen(EnqueueScreen(title, prefill), submitted)

    def retry_with_edits(self: TaskqApp, message: dict[str, Any]) -> None:
        """Open the form prefilled with a failed message's actor, queue and arguments."""
        prefill = EnqueueRequest(
            message.get("actor_name", ""),
            message.get("queue_name") or "default",
            list(message.get("args") or []),
            dict(message.get("kwargs") or {}),
        )
        self.open_enqueue_form(prefill, "Retry with original or edited arguments")

    @work(thread=True, group="actions")
    def enqueue_request(self: TaskqApp, request: EnqueueRequest) -> None:
        """Enqueue one message by actor name (no import of the actor's code needed)."""
        message: Message[Any] = Message(
            queue_name=request.queue_name,
            actor_name=request.actor_name,
            args=tuple(request.args),
            kwargs=request.kwargs,
            options={},
        )

        def send(broker: Any) -> Message[Any]:
            broker.declare_queue(request.queue_name)
            return broker.enqueue(message, delay=request.delay_ms)

        try:
            sent = self.link.call(send)
        except Exception as e:
            self.call_from_thread(self.notify, f"Enqueue failed: {e}", severity="error")
            return
        self.call_from_thread(
            self.notify, f"Enqueued {sent} as {sent.message_id[:8]} on {request.queue_name}"
        )
        self.call_from_thread(self.poll_broker)

    # -- dead letters -------------------------------------------------------------------------
    def requeue_dead(self: TaskqApp, queue_name: str, message_ids: list[str]) -> None:
        """Confirm, then move the given dead letters back onto their queue."""
        if not message_ids or self.refuse_if_read_only("requeueing"):
            return
        question = f"Requeue {len(message_ids)} dead letter(s) of {queue_name!r}?"

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._run_dead_letter_task("requeue", queue_name, message_ids)

        self.push_screen(ConfirmScreen(question, "Requeue"), confirmed)

    def purge_dead(self: TaskqApp, queue_name: str) -> None:
        """Confirm, then delete every dead letter of ``queue_name``."""
        if self.refuse_if_read_only("purging"):
            return
        dead = self.queue_stats.get(queue_name, {}).get("dead", "all")
        question = f"Permanently delete {dead} dead letter(s) of {queue_name!r}?"

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._run_dead_letter_task("purge", queue_name, [])

        self.push_screen(ConfirmScreen(question, "Purge"), confirmed)

    @work(thread=True, group="actions")
    def _run_dead_letter_task(
        self: TaskqApp, kind: str, queue_name: str, message_ids: Iterable[str]
    ) -> None:
        try:
            if kind == "requeue":
                ids = list(message_ids)
                count = self.link.call(lambda b: b.requeue_dead_letters(queue_name, ids))
                text = f"Requeued {count} message(s) on {queue_name}"
            else:
                count = self.link.call(lambda b: b.purge_dead_letters(queue_name))
                text = f"Purged {count} dead letter(s) of {queue_name}"
        except Exception as e:
            self.call_from_thread(self.notify, f"{kind} failed: {e}", severity="error")
            return
        self.call_from_thread(self.notify, text)
        self.call_from_thread(self.poll_broker)
        self.call_from_thread(self.dead_letters_changed, queue_name)

    def dead_letters_changed(self: TaskqApp, queue_name: str) -> None:
        """Ask the Queues view to reload its dead-letter list."""
        from .screens.queues import QueuesView

        self.part(QueuesView).reload_dead_letters()

    # -- abort -------------------------------------------------------------------------------
    def abort_message(self: TaskqApp, message_id: str) -> None:
        """Confirm, then abort a queued or running message via ``taskq.abort``."""
        if self.refuse_if_read_only("aborting"):
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._abort(message_id)

        self.push_screen(ConfirmScreen(f"Abort message {message_id}?", "Abort"), confirmed)

    @work(thread=True, group="actions")
    def _abort(self: TaskqApp, message_id: str) -> None:
        import taskq
        from taskq.middleware.abort import Abortable

        try:
            self.call_with_middleware(Abortable, lambda b: taskq.abort(message_id, broker=b))
        except ModuleNotFoundError:
            text, severity = "Abort is not available in this taskq build.", "warning"
        except Exception as e:
            text, severity = f"Abort failed: {e}", "error"
        else:
            text, severity = f"Abort requested for {message_id[:8]}", "information"
        self.call_from_thread(self.notify, text, severity=severity)

    # -- demo --------------------------------------------------------------------------------
    def start_demo(self: TaskqApp) -> None:
        """Launch a worker group on the demo actors and a gentle stream of messages."""
        from .demo_feed import DEMO_MODULE
        from .screens.workers import WorkersView
        from .worker_groups import GroupSpec

        spec = GroupSpec([DEMO_MODULE], processes=2, threads=4, broker_url=self.config.broker_url)
        self.part(WorkersView).launch(spec)
        self.demo_feed()

    @work(thread=True, exclusive=True, group="demo")
    def demo_feed(self: TaskqApp) -> None:
        """Send a demo message every ~0.6 s until the app exits."""
        from .demo_feed import demo_message

        worker = get_current_worker()
        rng = random.Random()
        while not worker.is_cancelled:
            message, delay = demo_message(rng)
            with contextlib.suppress(Exception):  # the poller shows an outage banner
                self.link.call(
                    lambda b, m=message, d=delay: (
                        b.declare_queue(m.queue_name),
                        b.enqueue(m, delay=d),
                    )
                )
            time.sleep(0.6)
