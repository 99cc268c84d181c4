"""Parameters as plain dicts, and the pure pieces every inner loop is made of.

A network here is only a *function*: its weights live outside it in a dict
``{name: tensor}`` and are passed in with ``torch.func.functional_call``. That
makes adaptation a pure function ``params -> adapted params`` which can be
differentiated (MAML), batched over tasks with ``torch.func.vmap``, and never
mutates the module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.func import functional_call, grad_and_value

Params = dict[str, torch.Tensor]
LossFn = Callable[[Params], torch.Tensor]


def init_params(module: nn.Module, device: torch.device | str = "cpu") -> Params:
    """A detached copy of ``module``'s parameters, as leaves that require grad."""
    return {n: p.detach().clone().to(device).requires_grad_(True) for n, p in module.named_parameters()}


def forward(module: nn.Module, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``module(x)`` with ``params`` in place of the module's own weights."""
    return functional_call(module, dict(params), (x,))


def sgd_step(params: Params, grads: Params, lr: float | Mapping[str, torch.Tensor]) -> Params:
    """theta' = theta - lr * g. ``lr`` is a number or, per parameter, a tensor (Meta-SGD)."""
    if isinstance(lr, Mapping):
        return {k: p - lr[k] * grads[k] for k, p in params.items()}
    return {k: p - lr * grads[k] for k, p in params.items()}


def detach(params: Params) -> Params:
    """Stop gradients through ``params`` (inside ``torch.func`` transforms too)."""
    return {k: v.detach() for k, v in params.items()}


def _inside_torch_func() -> bool:
    """True inside a ``torch.func`` transform (vmap, grad), where autograd.grad cannot be used."""
    return torch._C._functorch.maybe_current_level() is not None


def value_and_grad(loss_fn: LossFn, params: Params, create_graph: bool) -> tuple[Params, torch.Tensor]:
    """grad L(params) and L(params).

    Inside ``torch.func`` transforms this is ``torch.func.grad_and_value`` (differentiable by the
    enclosing transform). Outside, it is plain ``torch.autograd.grad``, the per-task loop other
    libraries use, which measured 1.1x to 1.9x faster than ``torch.func.grad`` per task on the CPU;
    ``create_graph`` keeps the graph of the gradient for a second-order meta-gradient.
    """
    if _inside_torch_func():
        grads, loss = grad_and_value(loss_fn)(params)
        return grads, loss
    params = {k: v if v.requires_grad else v.detach().requires_grad_() for k, v in params.items()}
    loss = loss_fn(params)
    grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
    return dict(zip(params, grads)), loss


def gradient_descent(loss_fn: LossFn, params: Params, steps: int, lr: float | Mapping[str, torch.Tensor],
                     first_order: bool = False) -> tuple[Params, torch.Tensor]:
    """``steps`` steps of SGD on ``loss_fn``, as a differentiable function of ``params``.

    theta_0 = params;  theta_{i+1} = theta_i - lr * grad L(theta_i)

    With ``first_order`` the gradients are treated as constants, so a meta-gradient
    through the result skips the second-order term (FOMAML). Returns the final
    parameters and the loss *before* each step, shape ``[steps]``.
    """
    losses = []
    for _ in range(steps):
        grads, loss = value_and_grad(loss_fn, params, create_graph=not first_order)
        if first_order:
            grads = detach(grads)
        losses.append(loss)
        params = sgd_step(params, grads, lr)
    stacked = torch.stack(losses) if losses else torch.zeros(0, device=_device_of(params))
    return params, stacked


def _device_of(params: Params) -> torch.device:
    return next(iter(params.values())).device


def flatten(params: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """All parameters as one vector, in the dict's order."""
    return torch.cat([p.reshape(-1) for p in params.values()])


def unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> Params:
    """Inverse of :func:`flatten`, with the names and shapes of ``like``."""
    out, i = {}, 0
    for k, p in like.items():
        out[k] = vector[i:i + p.numel()].reshape(p.shape)
        i += p.numel()
    return out
