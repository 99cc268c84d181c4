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
class Curves:
    """One learner on a fixed set of tasks: query metrics after 0..S inner steps."""

    loss: np.ndarray                 # [S + 1]
    accuracy: np.ndarray | None      # [S + 1], classification only

    def at(self, steps: int) -> tuple[float, float | None]:
        """(loss, accuracy) after ``steps`` inner steps (clipped to the curve)."""
        i = min(steps, len(self.loss) - 1)
        return float(self.loss[i]), None if self.accuracy is None else float(self.accuracy[i])


@dataclass(frozen=True)
class EvalEvent:
    """Evaluation on fixed, seeded held-out tasks: meta-validation, and meta-test when the run
    has a meta-test distribution of its own (to show distribution shift); ``train`` on tasks seen in
    meta-training when the run tracks them (the gap to ``val`` is meta-overfitting)."""

    step: int
    inner_steps: int                     # the learner's own number of inner steps
    val: Curves
    baseline_val: Curves | None = None
    test: Curves | None = None
    baseline_test: Curves | None = None
    train: Curves | None = None
    baseline_train: Curves | None = None

    @property
    def val_loss(self) -> float:
        """Query loss after the learner's own number of inner steps."""
        return self.val.at(self.inner_steps)[0]

    @property
    def baseline_val_loss(self) -> float | None:
        return None if self.baseline_val is None else self.baseline_val.at(self.inner_steps)[0]

    def scalars(self) -> dict[str, float]:
        """Every headline number of this evaluation, after the learner's own inner steps."""
        out = {}
        for name in ("val", "baseline_val", "test", "baseline_test", "train", "baseline_train"):
            curves = getattr(self, name)
            if curves is not None:
                loss, accuracy = curves.at(self.inner_steps)
                out[f"{name}_loss"] = loss
                if accuracy is not None:
                    out[f"{name}_accuracy"] = accuracy
        return out


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
