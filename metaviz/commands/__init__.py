"""One module per ``python -m metaviz`` command.

Each module defines ``register(subparsers)``, which adds its parser and sets
``run=fn`` as the default, where ``fn(args) -> int`` is the exit status. A new
command is one new file here; ``metaviz.__main__`` discovers it.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil


def register_all(subparsers: argparse._SubParsersAction) -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")):
        importlib.import_module(f"{__name__}.{module}").register(subparsers)
