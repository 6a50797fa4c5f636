"""The one composition root (channels.composition): the server and the sync worker build their
shared core the same way, and everything built is closed, last built first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from channels import composition, server
from channels.catalog_client import PerThreadCatalog
from channels.config import load_settings
from channels.sync.runtime import PerThreadConnectors, PerThreadRedis
from channels.sync.settings import SyncSettings


def _settings(tmp_path: Path) -> Any:
    return load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'channels.db'}"})


def test_the_worker_runtime_is_built_on_the_shared_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cores: list[composition.ChannelsCore] = []
    real = composition.build_core

    def spy(*args: Any, **kwargs: Any) -> composition.ChannelsCore:
        cores.append(real(*args, **kwargs))
        return cores[-1]

    monkeypatch.setattr(composition, "build_core", spy)
    runtime = composition.build_runtime(_settings(tmp_path), SyncSettings())
    try:
        assert len(cores) == 1
        core = cores[0]
        # One UnitOfWork and one ConnectionCaller serve the engine and the core; the worker's
        # clients are the per-OS-thread ones.
        assert runtime.engine.uow is core.uow and runtime.engine.caller is core.caller
        assert runtime.sql is core.sql
        assert isinstance(runtime.engine.redis, PerThreadRedis)
        assert isinstance(core.caller.connectors, PerThreadConnectors)
        assert runtime.engine.inventory is not None
        # The jobs' collaborators share the same core; their catalog client is per thread too.
        assert runtime.deps is not None
        assert runtime.deps.uow is core.uow and runtime.deps.caller is core.caller
        assert isinstance(runtime.deps.catalog, PerThreadCatalog)
    finally:
        runtime.close()
    assert runtime.closers == []


def test_the_core_closes_what_it_was_given_after_what_it_built(tmp_path: Path) -> None:
    closed: list[str] = []
    core = composition.build_core(
        _settings(tmp_path),
        pool_size=1,
        redis=object(),  # type: ignore[arg-type]  # never called while building
        connectors=object(),  # type: ignore[arg-type]
        closers=[lambda: closed.append("redis"), lambda: closed.append("connectors")],
    )
    assert core.closers[0] == core.sql.dispose
    assert core.closers[-1] == core.notifier.close
    for close in reversed(core.closers[1:-1]):
        close()
    assert closed == ["connectors", "redis"]
    core.notifier.close()
    core.sql.dispose()


def test_the_server_builds_its_core_through_the_same_root() -> None:
    assert server.build_core is composition.build_core
