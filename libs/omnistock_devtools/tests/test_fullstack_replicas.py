"""FullStack `replicas`: copies only of processes that bind no port, checked before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnistock_devtools.fullstack import FullStack, StackError


@pytest.mark.parametrize("replicas", [{"gateway": 2}, {"pricing": 2}, {"pricing-worker": 0}, {"no-such": 2}])
def test_refused_replicas_start_nothing(tmp_path: Path, replicas: dict[str, int]) -> None:
    stack = FullStack(tmp_path, {}, "redis://127.0.0.1:6379/10", "amqp://127.0.0.1/", replicas=replicas)
    with pytest.raises(StackError):
        stack.start()
    assert stack.processes == {} and not (tmp_path / "logs").exists()
