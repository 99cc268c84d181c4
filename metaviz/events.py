"""What training reports: small frozen records of floats and numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StepEvent:
    """One outer-loop step (meta-iteration) finished."""

    step: int                    # meta-iterations done so far
    loss: float                  # mean meta-training loss of this step's tasks
    baseline_loss: float | None  # the pretrained baseline's training loss on the same tasks
    seconds: float               # wall time of this step
    tasks_per_second: float


@dataclass(frozen=True)
class EvalEvent:
    """Evaluation on the fixed, seeded set of held-out (meta-validation) tasks."""

    step: int
    curve: np.ndarray                 # [eval_steps + 1] mean query loss after 0..eval_steps inner steps
    baseline_curve: np.ndarray | None
    inner_steps: int                  # the learner's own number of inner steps

    @property
    def val_loss(self) -> float:
        """Query loss after the learner's own number of inner steps."""
        return float(self.curve[min(self.inner_steps, len(self.curve) - 1)])

    @property
    def baseline_val_loss(self) -> float | None:
        if self.baseline_curve is None:
            return None
        return float(self.baseline_curve[min(self.inner_steps, len(self.baseline_curve) - 1)])


@dataclass(frozen=True)
class DivergedEvent:
    """The loss or its gradient became NaN or infinite; the parameters were left as before."""

    step: int
    message: str


@dataclass(frozen=True)
class DoneEvent:
    """A call of ``train`` ended; ``finished`` when the run reached its planned steps."""

    step: int
    finished: bool
    extra: dict = field(default_factory=dict)


Event = StepEvent | EvalEvent | DivergedEvent | DoneEvent
