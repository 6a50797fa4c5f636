"""GroupCommit: concurrent submitters of one key are executed together; outcomes stay per item."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from inventory.group_commit import GroupCommit


class Recorder:
    """An execute() that records its groups and can be held until released."""

    def __init__(self) -> None:
        self.groups: list[tuple[str, list[int]]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}

    def __call__(self, key: str, items: Sequence[int]) -> list[int | BaseException]:
        with self.lock:
            self.groups.append((key, list(items)))
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.max_in_flight[key] = max(self.max_in_flight.get(key, 0), self.in_flight[key])
        self.entered.set()
        self.gate.wait(5)
        with self.lock:
            self.in_flight[key] -= 1
        return [ValueError(f"odd {item}") if item % 2 else item * 10 for item in items]


def submit_all(group: GroupCommit[str, int, int], key: str, items: list[int]) -> dict[int, object]:
    """Submit each item from its own thread; item -> result or exception."""
    results: dict[int, object] = {}

    def run(item: int) -> None:
        try:
            results[item] = group.submit(key, item)
        except Exception as exc:
            results[item] = exc

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_a_lone_item_is_a_group_of_one() -> None:
    recorder = Recorder()
    group: GroupCommit[str, int, int] = GroupCommit(recorder)
    assert group.submit("t", 4) == 40
    assert recorder.groups == [("t", [4])]


def test_items_arriving_while_a_group_runs_form_the_next_group() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    group: GroupCommit[str, int, int] = GroupCommit(recorder)
    first = threading.Thread(target=group.submit, args=("t", 0))
    first.start()
    assert recorder.entered.wait(5)  # item 0 is being executed, alone
    waiting = threading.Thread(target=lambda: results.update(submit_all(group, "t", [2, 4, 6, 8])))
    results: dict[int, object] = {}
    waiting.start()
    deadline = time.monotonic() + 5
    while len(group._queues["t"].pending) < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    recorder.gate.set()
    first.join(5)
    waiting.join(5)
    assert recorder.groups[0] == ("t", [0])
    assert sorted(recorder.groups[1][1]) == [2, 4, 6, 8]  # one group for the four waiters
    assert len(recorder.groups) == 2
    assert results == {2: 20, 4: 40, 6: 60, 8: 80}
    assert (group.groups, group.items) == (2, 5)


def test_each_item_gets_its_own_outcome_or_error() -> None:
    recorder = Recorder()
    group: GroupCommit[str, int, int] = GroupCommit(recorder)
    results = submit_all(group, "t", list(range(40)))
    for item, outcome in results.items():
        if item % 2:
            assert isinstance(outcome, ValueError) and str(outcome) == f"odd {item}"
        else:
            assert outcome == item * 10
    assert sum(len(items) for _, items in recorder.groups) == 40  # each executed exactly once
    assert sorted(i for _, items in recorder.groups for i in items) == list(range(40))


def test_a_failing_execute_fails_its_whole_group_and_nothing_else() -> None:
    calls: list[list[int]] = []

    def execute(key: str, items: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(items))
        if 13 in items:
            raise RuntimeError("database gone")
        return list(items)

    group: GroupCommit[str, int, int] = GroupCommit(execute)
    with pytest.raises(RuntimeError, match="database gone"):
        group.submit("t", 13)
    assert group.submit("t", 7) == 7  # the key is usable again


def test_a_wrong_number_of_outcomes_is_an_error_for_every_member() -> None:
    group: GroupCommit[str, int, int] = GroupCommit(lambda key, items: [])
    with pytest.raises(RuntimeError, match="0 outcomes for 1 items"):
        group.submit("t", 1)


def test_keys_run_in_parallel_and_one_key_never_has_two_groups_in_flight() -> None:
    recorder = Recorder()
    group: GroupCommit[str, int, int] = GroupCommit(recorder)
    threads = [
        threading.Thread(target=submit_all, args=(group, key, list(range(0, 60, 2))))
        for key in ("a", "b", "c")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert set(recorder.max_in_flight) == {"a", "b", "c"}
    assert all(value == 1 for value in recorder.max_in_flight.values())
    assert not group._queues  # nothing left behind


def test_max_weight_bounds_a_group_but_not_a_single_heavy_item() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    group: GroupCommit[str, int, int] = GroupCommit(recorder, max_weight=10)
    first = threading.Thread(target=group.submit, args=("t", 0, 50))  # heavier than the bound
    first.start()
    assert recorder.entered.wait(5)
    results: dict[int, object] = {}

    def submit(item: int) -> None:
        results[item] = group.submit("t", item, 4)

    threads = [threading.Thread(target=submit, args=(item,)) for item in (2, 4, 6, 8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while len(group._queues["t"].pending) < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    recorder.gate.set()
    for thread in (first, *threads):
        thread.join(5)
    sizes = [len(items) for _, items in recorder.groups]
    assert sizes[0] == 1  # the heavy item alone
    assert sizes[1:] == [2, 2]  # weight 4 each, at most 10 per group
    assert results == {2: 20, 4: 40, 6: 60, 8: 80}
