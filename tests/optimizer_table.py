"""One row per optimizer: its factory, comparison hyperparameters, and its references.

Adding an optimizer means adding its row here; every table-driven test then covers it:
reference and torch agreement, convergence, one trace for any values, vmap over each
hyperparameter equal to a loop, properties, dtypes, bad inputs and `minimize` methods.
"""
from typing import Callable, NamedTuple, Optional

import torch

import jaxopt_lab as jl
import reference as ref


class Row(NamedTuple):
  factory: Callable
  hyper: dict  # non-default values, used for every comparison
  torch: Optional[Callable] = None      # (torch params, hyper) -> torch.optim optimizer
  reference: Optional[Callable] = None  # (grad, x0, steps, hyper) -> NumPy float64 iterates
  quadratic: Optional[dict] = None      # settings that converge on an ill-conditioned quadratic
  rosenbrock: Optional[dict] = None     # ... and on Rosenbrock
  linear_in_gradients: bool = False     # from rest, each update is linear in the gradients
  vmap_axis: Optional[tuple] = None     # (name, low, high) swept with the learning rate in the
                                        # vmap = loop property; default: hyper's first other
                                        # entry over [0, 0.95]; () for none

  def swept_axis(self) -> Optional[tuple]:
    """The hyperparameter the vmap property sweeps beside the learning rate, with its range."""
    if self.vmap_axis is not None:
      return self.vmap_axis or None
    others = [name for name in self.hyper if name != "learning_rate"]
    return (others[0], 0.0, 0.95) if others else None


TABLE = {
    "sgd": Row(
        jl.sgd, dict(learning_rate=0.1),
        torch=lambda ps, h: torch.optim.SGD(ps, lr=h["learning_rate"]),
        reference=lambda grad, x0, n, h: ref.run_sgd(grad, x0, n, h["learning_rate"]),
        quadratic=dict(learning_rate=0.0198), rosenbrock=dict(learning_rate=1.5e-3),
        linear_in_gradients=True),
    "momentum": Row(
        jl.momentum, dict(learning_rate=0.05, beta=0.8),
        torch=lambda ps, h: torch.optim.SGD(ps, lr=h["learning_rate"], momentum=h["beta"]),
        reference=lambda grad, x0, n, h: ref.run_momentum(grad, x0, n, h["learning_rate"],
                                                          h["beta"]),
        quadratic=dict(learning_rate=0.01, beta=0.9),
        rosenbrock=dict(learning_rate=3e-3, beta=0.9), linear_in_gradients=True),
    "nesterov": Row(
        jl.nesterov, dict(learning_rate=0.05, beta=0.8),
        torch=lambda ps, h: torch.optim.SGD(ps, lr=h["learning_rate"], momentum=h["beta"],
                                            nesterov=True),
        reference=lambda grad, x0, n, h: ref.run_nesterov(grad, x0, n, h["learning_rate"],
                                                          h["beta"]),
        quadratic=dict(learning_rate=0.01, beta=0.9),
        rosenbrock=dict(learning_rate=1e-3, beta=0.9), linear_in_gradients=True),
    "adagrad": Row(
        jl.adagrad, dict(learning_rate=0.1, eps=1e-7),
        torch=lambda ps, h: torch.optim.Adagrad(ps, lr=h["learning_rate"], eps=h["eps"]),
        reference=lambda grad, x0, n, h: ref.run_adagrad(grad, x0, n, h["learning_rate"],
                                                         h["eps"]),
        quadratic=dict(learning_rate=1.0), rosenbrock=dict(learning_rate=1.0)),
    "rmsprop": Row(
        jl.rmsprop, dict(learning_rate=0.003, decay=0.95, eps=1e-6),
        torch=lambda ps, h: torch.optim.RMSprop(ps, lr=h["learning_rate"], alpha=h["decay"],
                                                eps=h["eps"]),
        reference=lambda grad, x0, n, h: ref.run_rmsprop(grad, x0, n, h["learning_rate"],
                                                         h["decay"], h["eps"]),
        quadratic=dict(learning_rate=1e-3), rosenbrock=dict(learning_rate=3e-4)),
    "adam": Row(
        jl.adam, dict(learning_rate=0.01, b1=0.8, b2=0.99, eps=1e-8),
        torch=lambda ps, h: torch.optim.Adam(ps, lr=h["learning_rate"], betas=(h["b1"], h["b2"]),
                                             eps=h["eps"]),
        reference=lambda grad, x0, n, h: ref.run_adam(grad, x0, n, h["learning_rate"], h["b1"],
                                                      h["b2"], h["eps"]),
        quadratic=dict(learning_rate=0.03), rosenbrock=dict(learning_rate=0.01)),
    "adamw": Row(
        jl.adamw, dict(learning_rate=0.01, b1=0.8, b2=0.99, eps=1e-8, weight_decay=0.1),
        vmap_axis=("weight_decay", 0.0, 0.95),
        torch=lambda ps, h: torch.optim.AdamW(ps, lr=h["learning_rate"], betas=(h["b1"], h["b2"]),
                                              eps=h["eps"], weight_decay=h["weight_decay"]),
        quadratic=dict(learning_rate=0.03, weight_decay=0.0),
        rosenbrock=dict(learning_rate=0.01, weight_decay=0.0)),
    "amsgrad": Row(
        jl.amsgrad, dict(learning_rate=0.01, b1=0.8, b2=0.99, eps=1e-8),
        vmap_axis=("b2", 0.0, 0.95),
        torch=lambda ps, h: torch.optim.Adam(ps, lr=h["learning_rate"], betas=(h["b1"], h["b2"]),
                                             eps=h["eps"], amsgrad=True),
        quadratic=dict(learning_rate=0.03), rosenbrock=dict(learning_rate=0.03)),
}
