"""Group commit: concurrent requests for the same key are executed together, in one transaction.

Why: a reservation on a hot SKU locks one stock row until its transaction commits, so requests
on that SKU run one after another and the lock's hold time (round trips + a WAL flush) caps the
rate. Executing the requests that queued up while the previous transaction ran as ONE
transaction takes that lock, the round trips and the flush once per group instead of once per
request — the way PostgreSQL itself groups WAL flushes.

Leader/follower, no extra thread: the first submitter of an idle key leads, i.e. executes every
request queued for the key (itself first) and hands each its outcome; requests arriving
meanwhile queue and, when the leader is done, the oldest of them leads the next group. An idle
service adds no delay (a lone request is a group of one); under load groups grow by themselves.
At most one group per key is in flight in a process; other keys (tenants) proceed in parallel,
and other replicas are serialised by the database's row locks, not by anything here.

This module knows nothing of the database: `execute(key, items)` returns one outcome per item
(a result, or an exception instance raised to that item's submitter alone).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
I = TypeVar("I")  # noqa: E741 - the conventional name of the item type
R = TypeVar("R")

Execute = Callable[[K, Sequence[I]], Sequence["R | BaseException"]]


def _asleep() -> threading.Lock:
    """A lock taken at birth: the slot's thread blocks acquiring it until another releases it.
    (A threading.Event costs a Condition and a fresh lock per wait; this is one lock.)"""
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Slot(Generic[I, R]):
    item: I
    weight: int
    wake: threading.Lock = field(default_factory=_asleep)  # released once per wake-up
    lead: bool = False
    done: bool = False
    outcome: R | BaseException | None = None


@dataclass(eq=False)
class _Queue(Generic[I, R]):
    pending: deque[_Slot[I, R]] = field(default_factory=deque)  # waiting, not leading
    busy: bool = False  # a group of this key is in flight


class GroupCommit(Generic[K, I, R]):
    """Runs `execute` over groups of concurrently submitted items that share a key.

    max_weight bounds a group (the sum of the items' weights, e.g. their line counts); a single
    item heavier than that still forms a group of its own.
    """

    def __init__(self, execute: Execute[K, I, R], *, max_weight: int = 2000) -> None:
        self._execute = execute
        self._max_weight = max_weight
        self._lock = threading.Lock()
        self._queues: dict[K, _Queue[I, R]] = {}
        self.groups = 0  # executed groups, and the items in them (observability, tests)
        self.items = 0

    def submit(self, key: K, item: I, weight: int = 1) -> R:
        """Execute `item` in the next group for `key`; its result, or raise its exception."""
        slot: _Slot[I, R] = _Slot(item, max(1, weight))
        with self._lock:
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = _Queue()
            if not queue.busy:  # then nothing is pending either
                queue.busy = slot.lead = True
            else:
                queue.pending.append(slot)
        if not slot.lead:
            slot.wake.acquire()  # released with our outcome, or to make us lead the next group
        if not slot.done:
            self._lead(key, queue, slot)
        outcome = slot.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[return-value]

    def _lead(self, key: K, queue: _Queue[I, R], leader: _Slot[I, R]) -> None:
        """Execute the leader and the items pending behind it, then hand over."""
        with self._lock:
            group = [leader]
            weight = leader.weight
            while queue.pending and weight + queue.pending[0].weight <= self._max_weight:
                weight += queue.pending[0].weight
                group.append(queue.pending.popleft())
        try:
            outcomes: Sequence[R | BaseException] = self._execute(key, [slot.item for slot in group])
            if len(outcomes) != len(group):
                raise RuntimeError(f"group commit: {len(outcomes)} outcomes for {len(group)} items")
        except BaseException as exc:  # the whole group failed: every member sees why
            outcomes = [exc] * len(group)
        with self._lock:
            self.groups += 1
            self.items += len(group)
            successor = queue.pending.popleft() if queue.pending else None
            if successor is not None:
                successor.lead = True  # the oldest waiting item leads the next group
            else:
                queue.busy = False
                del self._queues[key]
        for slot, outcome in zip(group, outcomes, strict=True):
            slot.outcome, slot.done = outcome, True
            slot.wake.release()
        if successor is not None:
            successor.wake.release()
