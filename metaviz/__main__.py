"""The ``python -m metaviz`` command line: one module per command in ``metaviz/commands/``.

    python -m metaviz info [--json]     versions, devices, registered tasks and learners
    python -m metaviz bench accuracy --budget-s 600 [--device cuda] [--json PATH]
    python -m metaviz eval omniglot-oneshot --method mhd [--data DIR] [--download]

``python -m metaviz --help`` lists every command.
"""

from __future__ import annotations

import argparse
import sys

from metaviz.commands import register_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metaviz", description="MetaViz: meta-learning, live.")
    register_all(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
