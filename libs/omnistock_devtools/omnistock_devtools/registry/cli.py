"""`python -m omnistock_devtools.registry generate|check|databases|image|imports`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .files import stale_files, write_generated
from .image import check_imports, prepare_image
from .model import REGISTRY_PATH, ROOT, Registry, RegistryError
from .sources import source_problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m omnistock_devtools.registry",
        description="The registry of deployables and the files generated from it.",
    )
    parser.add_argument("--registry", type=Path, default=None, help="default: deploy/deployables.toml")
    parser.add_argument("--root", type=Path, default=ROOT, help="where the generated files live")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="rewrite every generated file")
    sub.add_parser(
        "check",
        help="exit 1 if a generated file is stale or a hand-written one (pyproject, channels) disagrees",
    )
    sub.add_parser("databases", help="print the databases, space-separated (make migrate)")
    image = sub.add_parser("image", help="prepare one image's start script and files (Dockerfile)")
    image.add_argument("name")
    image.add_argument("--app", type=Path, required=True)
    image.add_argument("--bin", type=Path, required=True)
    imports = sub.add_parser("imports", help="import every module one image runs (Dockerfile)")
    imports.add_argument("name")
    args = parser.parse_args(argv)
    try:
        reg = Registry.load(args.registry or args.root / REGISTRY_PATH)
        if args.command == "generate":
            for path in write_generated(reg, args.root):
                print(f"wrote {path}")
            return 0
        if args.command == "check":
            stale = stale_files(reg, args.root)
            for path in stale:
                print(f"stale: {path} (run `make generate`)", file=sys.stderr)
            problems = source_problems(reg, args.root)
            for problem in problems:
                print(f"edit: {problem}", file=sys.stderr)
            return 1 if stale or problems else 0
        if args.command == "databases":
            print(" ".join(reg.databases))
            return 0
        if args.command == "imports":
            failures = check_imports(reg, args.name)
            for failure in failures:
                print(f"image {args.name}: {failure}", file=sys.stderr)
            return 1 if failures else 0
        prepare_image(reg, args.name, args.app, args.bin, args.root)
        return 0
    except RegistryError as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 2
