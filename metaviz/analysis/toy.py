"""Two tasks, two parameters: MAML, first-order MAML and Reptile side by side, drawn as vectors.

Each task i has a quadratic loss of a 2-D parameter theta,

    L_i(theta) = 1/2 (theta - c_i)^T A_i (theta - c_i),     grad L_i = A_i (theta - c_i),   H_i = A_i,

with its own minimum c_i and curvature A_i (symmetric positive definite). Support and query sets
are the same here, so each task's inner loop and its meta-objective use the same L_i. From a point
theta, the inner loop takes k SGD steps on each task (the engine's own ``gradient_descent``):

    phi_i = theta - alpha grad L_i(theta)      (k times)       phi_i - c_i = (I - alpha A_i)^k (theta - c_i)

and the three meta-learners move theta against their (pseudo-)gradients, averaged over the tasks:

    MAML       g_i = d L_i(phi_i) / d theta = (I - alpha A_i)^k A_i (phi_i - c_i)
                                                 (one step: (I - alpha H_i) grad L_i(theta - alpha grad L_i(theta)))
    FOMAML     g_i = grad L_i(phi_i)            = A_i (phi_i - c_i)        (the Jacobian of phi_i dropped)
    Reptile    g_i = theta - phi_i              = (I - (I - alpha A_i)^k)(theta - c_i)

MAML minus FOMAML is the *second-order term*, for one step -alpha H_i grad L_i(phi_i): it bends the
update away from directions where a task is steep, since a step there overshoots after adaptation.
Reptile's update is a displacement, not a gradient (theta moves towards the mean of the phi_i, by
its own outer rate epsilon), so only its direction compares with the other two. With one inner step
it points along -grad mean_i L_i(theta): joint training, blind to adaptation; with more steps it
picks up MAML's term (Nichol et al. 2018).

Everything is computed with autograd through the engine's inner loop (float64); the closed forms
above are what ``tests/test_toy.py`` checks it against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import vmap

from metaviz.config import Config, param
from metaviz.functional import gradient_descent

METHODS = ("maml", "fomaml", "reptile")


@dataclass(frozen=True)
class QuadraticTask:
    """L(theta) = 1/2 (theta - centre)^T A (theta - centre), A = R(angle) diag(curvature) R(angle)^T."""

    centre: tuple[float, float]
    curvature: tuple[float, float]   # eigenvalues of A, both > 0
    angle: float = 0.0               # of A's first eigenvector, in degrees

    @property
    def matrix(self) -> np.ndarray:
        t = math.radians(self.angle)
        r = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
        return r @ np.diag(self.curvature) @ r.T


PRESETS: dict[str, tuple[QuadraticTask, QuadraticTask]] = {
    "different curvatures": (QuadraticTask((1.5, 0.5), (4.0, 0.4), 20.0),
                             QuadraticTask((-1.0, -0.5), (0.4, 3.0), -30.0)),
    "same curvature (isotropic)": (QuadraticTask((1.0, 0.5), (1.0, 1.0)), QuadraticTask((-1.0, -0.5), (1.0, 1.0))),
    "one steep task": (QuadraticTask((1.0, 1.0), (4.5, 4.5)), QuadraticTask((-1.0, -0.5), (0.5, 0.5))),
}


@dataclass(frozen=True)
class ToyConfig(Config):
    __doc__ = __doc__  # the app shows it under "How the toy is computed"

    preset: str = param("different curvatures", "Tasks", options=tuple(PRESETS),
                        help="Two quadratic tasks. With the same isotropic curvature the second-order term is "
                        "parallel to FOMAML's update; with different curvatures it turns it.")
    inner_lr: float = param(0.2, "Inner learning rate (alpha)", min=0.01, max=1.0, step=0.01,
                            help="The inner loop diverges on a task when alpha times its largest curvature "
                            "exceeds 2.")
    inner_steps: int = param(1, "Inner steps (k)", min=1, max=10, step=1)

    @property
    def tasks(self) -> tuple[QuadraticTask, QuadraticTask]:
        return PRESETS[self.preset]


@dataclass(frozen=True)
class ToyUpdate:
    """Everything drawn from one point theta [2].

    inner: [2 tasks, k + 1, 2], each task's inner-loop path; per_task[method]: [2 tasks, 2] gradients
    g_i (Reptile's: theta - phi_i); gradient[method]: [2] their mean; direction[method] = -gradient[method],
    the way each meta-update moves theta (Reptile's: mean_i phi_i - theta);
    second_order: [2] = gradient["maml"] - gradient["fomaml"], and its per-task values [2 tasks, 2]."""

    theta: np.ndarray
    inner: np.ndarray
    per_task: dict[str, np.ndarray]
    gradient: dict[str, np.ndarray]
    direction: dict[str, np.ndarray]
    second_order: np.ndarray
    second_order_per_task: np.ndarray
    meta_loss: float     # mean_i L_i(phi_i), MAML's objective at theta
    joint_loss: float    # mean_i L_i(theta), what training on all tasks at once minimizes


@dataclass(frozen=True)
class ToySurface:
    """Losses on a grid [G, G] (rows over theta_2, columns over theta_1): the MAML objective, the joint
    loss and each task's loss [2, G, G]."""

    x: np.ndarray
    y: np.ndarray
    meta_loss: np.ndarray
    joint_loss: np.ndarray
    task_loss: np.ndarray
    centres: np.ndarray      # [2, 2]


def _task_tensors(config: ToyConfig) -> tuple[torch.Tensor, torch.Tensor]:
    ts = config.tasks
    centres = torch.tensor([t.centre for t in ts], dtype=torch.float64)
    matrices = torch.tensor(np.stack([t.matrix for t in ts]), dtype=torch.float64)
    return centres, matrices


def _loss(theta: torch.Tensor, centre: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    d = theta - centre
    return 0.5 * d @ matrix @ d


def _inner(theta: torch.Tensor, centre, matrix, config: ToyConfig, first_order: bool) -> torch.Tensor:
    """phi after k SGD steps on one task, through the engine's inner loop (differentiable unless first order)."""
    phi, _ = gradient_descent(lambda p: _loss(p["theta"], centre, matrix), {"theta": theta}, config.inner_steps,
                              config.inner_lr, first_order)
    return phi["theta"]


def toy_update(config: ToyConfig, theta: tuple[float, float] | np.ndarray) -> ToyUpdate:
    """The inner steps of both tasks from ``theta`` and the MAML, FOMAML and Reptile updates (autograd)."""
    theta_np = np.asarray(theta, np.float64).reshape(2)
    if not np.all(np.isfinite(theta_np)):
        raise ValueError(f"theta must be two finite numbers, not {theta!r}")
    centres, matrices = _task_tensors(config)
    per_task = {m: [] for m in METHODS}
    paths, meta, joint = [], [], []
    for centre, matrix in zip(centres, matrices):
        th = torch.tensor(theta_np, requires_grad=True)
        phi = _inner(th, centre, matrix, config, first_order=False)
        query = _loss(phi, centre, matrix)
        (maml,) = torch.autograd.grad(query, th)                                    # through the inner loop
        phi_fo = phi.detach().requires_grad_()
        (fomaml,) = torch.autograd.grad(_loss(phi_fo, centre, matrix), phi_fo)      # at phi, Jacobian dropped
        per_task["maml"].append(maml.numpy())
        per_task["fomaml"].append(fomaml.numpy())
        per_task["reptile"].append((th - phi).detach().numpy())
        meta.append(float(query.detach())), joint.append(float(_loss(th.detach(), centre, matrix)))
        path = [theta_np]
        for j in range(1, config.inner_steps + 1):
            step = ToyConfig(config.preset, config.inner_lr, j)
            path.append(_inner(th.detach(), centre, matrix, step, first_order=True).detach().numpy())
        paths.append(np.stack(path))
    per_task = {m: np.stack(v) for m, v in per_task.items()}
    gradient = {m: v.mean(0) for m, v in per_task.items()}
    direction = {m: -g for m, g in gradient.items()}
    return ToyUpdate(theta_np, np.stack(paths), per_task, gradient, direction,
                     gradient["maml"] - gradient["fomaml"], per_task["maml"] - per_task["fomaml"],
                     float(np.mean(meta)), float(np.mean(joint)))


def toy_surface(config: ToyConfig, extent: float = 3.0, resolution: int = 81) -> ToySurface:
    """MAML's objective mean_i L_i(phi_i(theta)), the joint loss and each task's loss on a grid over
    [-extent, extent]^2, batched with vmap over grid points."""
    if resolution < 2 or extent <= 0:
        raise ValueError("the toy grid needs resolution >= 2 and a positive extent")
    axis = np.linspace(-extent, extent, resolution)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    points = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1))
    centres, matrices = _task_tensors(config)

    def losses(theta):
        task = torch.stack([_loss(theta, c, m) for c, m in zip(centres, matrices)])
        meta = torch.stack([_loss(_inner(theta, c, m, config, True), c, m) for c, m in zip(centres, matrices)])
        return task, meta.mean()

    task, meta = vmap(losses)(points)
    shape = (resolution, resolution)
    return ToySurface(axis, axis.copy(), meta.reshape(shape).numpy(), task.mean(1).reshape(shape).numpy(),
                      task.T.reshape(2, *shape).numpy(), centres.numpy())
