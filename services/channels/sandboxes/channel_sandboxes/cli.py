"""The `python -m channel_sandboxes.<vendor>` command line both sandboxes share: --host, --port
(the registry's default sandbox port), one flag per config field the vendor lets the operator
override (its default is the config read from the environment, so flags override the
environment), --demo; then serve until Ctrl-C."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from flask import Flask

from channel_sandboxes.common import run_until_interrupted
from omnistock_common.config import DEFAULT_SANDBOX_PORTS


class SandboxConfig(Protocol):
    demo: bool


ConfigT = TypeVar("ConfigT", bound=SandboxConfig)


@dataclass(frozen=True)
class Flag:
    """`--name` overrides the config field `dest`; `options` go to argparse's add_argument."""

    name: str
    dest: str
    options: dict[str, Any] = field(default_factory=dict)


def sandbox_main(
    vendor: str,
    description: str | None,
    base: ConfigT,
    flags: Sequence[Flag],
    create_app: Callable[[ConfigT], Flask],
    banner: Callable[[ConfigT, str, int], str],
    argv: list[str] | None = None,
) -> None:
    """Parse `argv` over `base` (the vendor's config from the environment) and serve the app."""
    parser = argparse.ArgumentParser(prog=f"python -m channel_sandboxes.{vendor}", description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_SANDBOX_PORTS[vendor])
    for flag in flags:
        parser.add_argument(flag.name, dest=flag.dest, default=getattr(base, flag.dest), **flag.options)
    parser.add_argument("--demo", action="store_true", default=base.demo, help="seed the demo catalogue")
    args = parser.parse_args(argv)
    config = replace(base, demo=args.demo, **{flag.dest: getattr(args, flag.dest) for flag in flags})  # type: ignore[type-var]
    run_until_interrupted(
        create_app(config),
        args.host,
        args.port,
        f"{vendor}-sandbox",
        lambda port: banner(config, args.host, port),
    )
