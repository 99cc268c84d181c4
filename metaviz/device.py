"""Pick the compute device: CUDA, then Apple's MPS, then the CPU, unless told."""

from __future__ import annotations

import os

import torch


def available_devices() -> list[str]:
    """Devices this machine can run on, best first."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks the best available device; anything else must be available."""
    devices = available_devices()
    if name == "auto":
        return torch.device(devices[0])
    if name not in devices:
        raise ValueError(f"device {name!r} is not available here; available: {devices}")
    return torch.device(name)


def device_label(name: str = "auto") -> str:
    """A short human label, for example ``cuda: NVIDIA H100`` or ``cpu: 2 threads``."""
    device = resolve_device(name)
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "mps: Apple GPU"
    threads = torch.get_num_threads()
    return f"cpu: {threads} thread{'s' * (threads > 1)}"


def leave_a_core_free() -> int:
    """Use all CPU cores but one for torch's intra-op threads, and return that number.

    Training in the app shares the machine with the web server and often the browser;
    when torch's threads wait on a core that another process holds, small ops slow down
    several-fold (measured here: 2 threads on 2 cores beside Chromium, 6x slower)."""
    threads = max(1, (os.cpu_count() or 1) - 1)
    torch.set_num_threads(threads)
    return threads
