"""A real nameko worker (`nameko run --config services/<svc>/worker.yaml <svc>.worker`) as a child
process of a test, and a tap on a service's events exchange.

Worker tests used to copy the same block: start the process with its output in a log file, loop
"still alive? before the deadline? (else fail with the log's tail)", and stop it in `finally`.
`running_worker` is that block once; anything a test is about (SIGKILL mid-stream, SIGTERM timing,
a broker restart) stays in the test, through `RunningWorker.process`.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import kombu

from omnistock_common.config import project_root

T = TypeVar("T")
# Enough of a log for a traceback and the lines before it, short enough to read in a failure.
TAIL_CHARS = 5000
NAMEKO = str(Path(sys.executable).parent / "nameko")


def nameko_command(config: str, module: str) -> list[str]:
    """The command `make run` uses for a worker, with this interpreter's own nameko script."""
    return [NAMEKO, "run", "--config", config, module]


def queues_exist(amqp_url: str, *names: str, connect_timeout: float = 5.0) -> bool:
    """True once every named queue exists (a passive declare): nameko declares a worker's consumer
    queues when it is up, so this is the sign that it consumes."""
    try:
        with kombu.Connection(amqp_url, connect_timeout=connect_timeout) as conn:
            for name in names:
                conn.default_channel.queue_declare(name, passive=True)
        return True
    except Exception:
        return False


def every(seconds: float, action: Callable[[], object]) -> Callable[[], None]:
    """A `between` step that runs `action` at once and then at most every `seconds`: an event is
    published again until it lands, because a queue exists a moment before its binding does and an
    event published in between is routed nowhere (consumers are idempotent, repeats are harmless)."""
    last = -float("inf")

    def step() -> None:
        nonlocal last
        if time.monotonic() - last > seconds:
            action()
            last = time.monotonic()

    return step


@dataclass
class RunningWorker:
    """A started worker: its process, its log and the deadline its waits share."""

    process: subprocess.Popen[bytes]
    log_path: Path
    give_up: float  # time.monotonic() after which a wait fails

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, chars: int = TAIL_CHARS) -> str:
        return self.log()[-chars:]

    def check(self, describe: Callable[[], object] | None = None, *, give_up: float | None = None) -> None:
        """Fail, with the log's tail (and `describe()`, if given), when the worker has exited or
        the deadline (`give_up`, else the worker's own) has passed."""

        def message() -> object:
            return self.tail() if describe is None else (describe(), self.tail())

        assert self.process.poll() is None, message()
        assert time.monotonic() < (self.give_up if give_up is None else give_up), message()

    def wait_until(
        self,
        condition: Callable[[], T],
        *,
        interval: float = 0.2,
        between: Callable[[], object] | None = None,
        timeout: float | None = None,
        describe: Callable[[], object] | None = None,
    ) -> T:
        """Return `condition()`'s first truthy value; each round before it, `check()` the worker,
        call `between()` (drain a connection, publish again) and sleep `interval`. `timeout` gives
        this wait a deadline of its own, from now; else the worker's deadline applies."""
        give_up = None if timeout is None else time.monotonic() + timeout
        while not (value := condition()):
            self.check(describe, give_up=give_up)
            if between is not None:
                between()
            if interval:
                time.sleep(interval)
        return value

    def seconds_to_stop_after_sigterm(self, wait: float) -> float:
        """Send SIGTERM (as a deployment's stop does) and return how long the process took to exit,
        waiting at most `wait` seconds: a test compares it with its own limit."""
        self.process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(wait)
        return time.monotonic() - sent


@contextlib.contextmanager
def running_worker(
    config: str,
    module: str,
    *,
    env: Mapping[str, str],
    log_path: Path,
    deadline: float,
    stop_timeout: float = 20.0,
    require_clean_stop: bool = False,
    command: Sequence[str] | None = None,
) -> Iterator[RunningWorker]:
    """Run `nameko run --config <config> <module>` from the repository root with `env`, its output
    appended to `log_path` (so restarted workers can share one log). Waits fail `deadline` seconds
    after the start. On exit a worker still running gets SIGTERM and `stop_timeout` seconds, then
    SIGKILL; with `require_clean_stop` a worker that needed the SIGKILL also fails the test.
    `command` replaces the nameko command (the helper's own tests)."""
    root = project_root()
    if command is None and not (root / config).is_file():
        raise FileNotFoundError(f"{config} is not in the repository root {root}")
    argv = list(command) if command is not None else nameko_command(config, module)
    with log_path.open("ab") as log:
        process = subprocess.Popen(argv, cwd=root, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
    worker = RunningWorker(process, log_path, time.monotonic() + deadline)
    failed = True
    try:
        yield worker
        failed = False
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
                # Not over an exception already on its way: that one says what went wrong.
                if require_clean_stop and not failed:
                    raise AssertionError(
                        f"{module} still ran {stop_timeout:g} s after SIGTERM\n{worker.tail()}"
                    ) from None


@dataclass
class EventTap:
    """Every event on a nameko events exchange (`<service>.events`), from an exclusive queue of
    the test's own, bound to `routing_key` before the worker publishes anything."""

    connection: kombu.Connection
    consumer: kombu.Consumer
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _on_message(self, body: dict[str, Any], message: kombu.Message) -> None:
        self.received.append((message.delivery_info["routing_key"], body))
        message.ack()

    def drain(self, seconds: float = 0.2) -> None:
        """Take what arrives within `seconds` (at least one wait for a message)."""
        until = time.monotonic() + seconds
        while True:
            with contextlib.suppress(TimeoutError):
                self.connection.drain_events(timeout=max(0.0, min(0.2, until - time.monotonic())))
            if time.monotonic() >= until:
                return

    def bodies(self, routing_key: str) -> list[dict[str, Any]]:
        return [body for key, body in self.received if key == routing_key]


@contextlib.contextmanager
def event_tap(
    amqp_url: str, exchange_name: str, *, routing_key: str = "#", prefix: str = "test-events"
) -> Iterator[EventTap]:
    """An `EventTap` on `exchange_name` (declared as nameko declares it, so a no-op for nameko)."""
    connection = kombu.Connection(amqp_url)
    exchange = kombu.Exchange(exchange_name, type="topic", durable=True)
    queue = kombu.Queue(f"{prefix}-{uuid.uuid4().hex[:8]}", exchange, routing_key=routing_key, exclusive=True)
    try:
        consumer = kombu.Consumer(connection.default_channel, queues=[queue], accept=["json"])
        tap = EventTap(connection, consumer)
        consumer.register_callback(tap._on_message)
        consumer.consume()
        try:
            yield tap
        finally:
            with contextlib.suppress(Exception):
                consumer.cancel()
    finally:
        connection.release()


def relayed_events(
    config: str,
    module: str,
    exchange_name: str,
    *,
    amqp_url: str,
    env: Mapping[str, str],
    log_path: Path,
    deadline: float,
    match: Callable[[dict[str, Any]], bool],
    settle: float = 1.0,
) -> list[tuple[str, dict[str, Any]]]:
    """Run the worker until an event on `exchange_name` that `match`es arrives, listen `settle`
    seconds more (a second copy would come within the relay's ticks), stop the worker (failing if
    SIGTERM does not) and return every matching (routing key, body): a test of an outbox relay
    asserts there is exactly one."""
    with (
        event_tap(amqp_url, exchange_name) as events,
        running_worker(
            config, module, env=env, log_path=log_path, deadline=deadline, require_clean_stop=True
        ) as worker,
    ):
        worker.wait_until(
            lambda: [body for _key, body in events.received if match(body)], interval=0, between=events.drain
        )
        events.drain(settle)
    return [(key, body) for key, body in events.received if match(body)]
