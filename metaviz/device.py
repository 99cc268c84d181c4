"""Pick the compute device: CUDA, then Apple's MPS, then the CPU, unless told."""

from __future__ import annotations

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
    return f"cpu: {torch.get_num_threads()} threads"
