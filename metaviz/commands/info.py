"""``python -m metaviz info [--json]``: versions, devices, registered tasks and learners."""

from __future__ import annotations

import argparse
import json
import platform


def info() -> dict:
    import numpy
    import torch

    import metaviz
    from metaviz import learners, tasks
    from metaviz.device import available_devices, device_label

    return {"metaviz": metaviz.__version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "devices": available_devices(), "default_device": device_label("auto"),
            "tasks": {n: tasks.get(n).kind for n in tasks.available()},
            "learners": {n: learners.get(n).family for n in learners.available()}}


def run(args: argparse.Namespace) -> int:
    data = info()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    width = max(map(len, data))
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} ({v})" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(value)
        print(f"{key:<{width}}  {value}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="versions, devices, registered tasks and learners")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)
