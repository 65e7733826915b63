"""One row per optimizer: its factory, comparison hyperparameters, and its references.

Adding an optimizer means adding its row here; every table-driven test then covers it:
reference, torch and optax agreement, convergence, one trace for any values, vmap over each
hyperparameter equal to a loop, properties, dtypes, complex leaves, bad inputs, `minimize`
methods and `theory.linear_rate` (a rate for the rows linear on a quadratic, a clear error
for the others). A hyperparameter name new to the table gets its valid range in RANGES.
"""
import math
from functools import partial
from typing import Callable, NamedTuple, Optional

import optax
import torch

import jaxopt_lab as jl
import reference as ref

NAN, INF = math.nan, math.inf
RANGES = {  # parameter -> (valid range as the message writes it, bad values)
    "learning_rate": ("[0, inf)", [-0.1, NAN, INF]),
    "beta": ("[0, 1)", [-0.1, 1.0, 1.5, NAN]),
    "b1": ("[0, 1)", [-0.1, 1.0, NAN]),
    "b2": ("[0, 1)", [-1e-3, 1.0, NAN]),
    "decay": ("[0, 1)", [-0.5, 1.0, NAN]),
    "eps": ("[0, inf)", [-1e-8, NAN, INF]),
    "eps_root": ("[0, inf)", [-1e-16, NAN, INF]),
    "weight_decay": ("[0, inf)", [-0.01, NAN, INF]),
    "momentum_decay": ("[0, inf]", [-1e-3, NAN]),
    "rho": ("[0, 1]", [-0.1, 1.5, NAN]),
    "eta_minus": ("(0, 1)", [0.0, 1.0, NAN]),
    "eta_plus": ("(1, inf)", [1.0, 0.5, INF, NAN]),
    "step_size_min": ("[0, inf)", [-1e-6, NAN, INF]),
    "step_size_max": ("(0, inf)", [0.0, NAN, INF]),
    "trust_coefficient": ("(0, inf)", [0.0, -1.0, NAN]),
    "decay_rate": ("[0, inf)", [-0.8, NAN, INF]),
    "clipping_threshold": ("(0, inf]", [0.0, -1.0, NAN]),
    "adam_b1": ("[0, 1)", [1.0, NAN]),
    "adam_b2": ("[0, 1)", [-0.5, 1.0]),
    "weight_lr_power": ("[0, inf)", [-2.0, NAN, INF]),
}


class Row(NamedTuple):
  factory: Callable
  hyper: dict  # non-default values, used for every comparison
  torch: Optional[Callable] = None      # (torch params, hyper) -> torch.optim optimizer
  reference: Optional[Callable] = None  # (grad, x0, steps, hyper) -> NumPy float64 iterates
  quadratic: Optional[dict] = None      # settings that converge on an ill-conditioned quadratic
  rosenbrock: Optional[dict] = None     # ... and on Rosenbrock
  linear_in_gradients: bool = False     # from rest, each update is linear in the gradients,
                                        # so the step is linear on a quadratic: linear_rate
                                        # gives its rate (for the other rows it raises)
  vmap_axis: Optional[tuple] = None     # (name, low, high) swept with the learning rate in the
                                        # vmap = loop property; default: hyper's first other
                                        # entry over [0, 0.95]; () for none
  optax: Optional[Callable] = None      # hyper -> the optax optimizer computing the same numbers
  optax_rtol: float = 1e-9              # float64 agreement with it, atol 1e-3 of it (looser:
                                        # a stated reason)
  ranges: dict = {}                     # RANGES entries this row's factory writes otherwise
  float32_atol: float = 1e-7            # absolute float32 rounding allowed where two programs
                                        # (vmapped and not) compute the same updates
  coordinatewise: bool = False          # complex leaves as (real, imaginary) pairs, torch's
                                        # view_as_real: no phase equivariance (Rprop)

  def swept_axis(self) -> Optional[tuple]:
    """The hyperparameter the vmap property sweeps beside the learning rate, with its range."""
    if self.vmap_axis is not None:
      return self.vmap_axis or None
    others = [name for name in self.hyper if name != "learning_rate"]
    return (others[0], 0.0, 0.95) if others else None

  def range_of(self, name: str) -> tuple:
    """(valid range as the message writes it, bad values) of hyperparameter `name`."""
    return self.ranges.get(name, RANGES[name])


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
    # -- the zoo: torch.optim parity ------------------------------------------------------------
    "nadam": Row(
        jl.nadam, dict(learning_rate=0.005, b1=0.8, b2=0.99, eps=1e-8, momentum_decay=4e-3),
        torch=lambda ps, h: torch.optim.NAdam(ps, lr=h["learning_rate"], betas=(h["b1"], h["b2"]),
                                              eps=h["eps"], momentum_decay=h["momentum_decay"]),
        quadratic=dict(learning_rate=0.01), rosenbrock=dict(learning_rate=0.01)),
    "radam": Row(  # b2 = 0.99: rho_t passes 5 at step 6 of the 60 compared, both regimes
        jl.radam, dict(learning_rate=0.01, b1=0.8, b2=0.99, eps=1e-8),
        torch=lambda ps, h: torch.optim.RAdam(ps, lr=h["learning_rate"], betas=(h["b1"], h["b2"]),
                                              eps=h["eps"]),
        quadratic=dict(learning_rate=0.01), rosenbrock=dict(learning_rate=3e-4)),
    "adamax": Row(
        jl.adamax, dict(learning_rate=0.01, b1=0.8, b2=0.99, eps=1e-8),
        torch=lambda ps, h: torch.optim.Adamax(ps, lr=h["learning_rate"],
                                               betas=(h["b1"], h["b2"]), eps=h["eps"]),
        optax=lambda h: optax.adamax(h["learning_rate"], h["b1"], h["b2"], h["eps"]),
        quadratic=dict(learning_rate=0.03), rosenbrock=dict(learning_rate=0.01)),
    "adadelta": Row(  # near w* its step tends to lr g: small rates for the ill-conditioned runs
        jl.adadelta, dict(learning_rate=1.0, rho=0.8, eps=1e-6),
        torch=lambda ps, h: torch.optim.Adadelta(ps, lr=h["learning_rate"], rho=h["rho"],
                                                 eps=h["eps"]),
        optax=lambda h: optax.adadelta(h["learning_rate"], h["rho"], h["eps"]),
        quadratic=dict(learning_rate=0.01, eps=1e-2),
        rosenbrock=dict(learning_rate=2e-3, eps=0.1)),
    "rprop": Row(  # optax.rprop 0.2.8 lags one step (tests/optim/test_zoo.py): torch only
        jl.rprop, dict(learning_rate=0.01, eta_minus=0.4, eta_plus=1.3, step_size_min=1e-6,
                       step_size_max=50.0),
        torch=lambda ps, h: torch.optim.Rprop(ps, lr=h["learning_rate"],
                                              etas=(h["eta_minus"], h["eta_plus"]),
                                              step_sizes=(h["step_size_min"],
                                                          h["step_size_max"])),
        quadratic=dict(learning_rate=0.01), rosenbrock=dict(learning_rate=0.01),
        coordinatewise=True),
    # -- the zoo: optax parity (sign methods and trust ratios stall at ~lr: decaying rates) --------
    "adabelief": Row(
        jl.adabelief, dict(learning_rate=0.01, b1=0.8, b2=0.99, eps=1e-16, eps_root=1e-16),
        optax=lambda h: optax.adabelief(h["learning_rate"], h["b1"], h["b2"], h["eps"],
                                        h["eps_root"]),
        quadratic=dict(learning_rate=0.03), rosenbrock=dict(learning_rate=0.03)),
    "sign_sgd": Row(
        jl.sign_sgd, dict(learning_rate=0.01),
        optax=lambda h: optax.sign_sgd(h["learning_rate"]),
        quadratic=dict(learning_rate=jl.linear_decay(3e-3, 3000)),
        rosenbrock=dict(learning_rate=jl.exponential_decay(3e-3, 1, 0.9996))),
    "lion": Row(
        jl.lion, dict(learning_rate=1e-3, b1=0.8, b2=0.95, weight_decay=0.1),
        optax=lambda h: optax.lion(h["learning_rate"], h["b1"], h["b2"],
                                   weight_decay=h["weight_decay"]),
        quadratic=dict(learning_rate=jl.linear_decay(3e-3, 3000)),
        rosenbrock=dict(learning_rate=jl.linear_decay(3e-3, 20000))),
    # trust ratios divide by |m_hat / sqrt(v_hat) + weight_decay w|, which the properties'
    # gradients can make ~0 (where rounding decides the direction): decay 0 here, and its
    # agreement with optax, masks included, in tests/optim/test_zoo.py
    "lamb": Row(
        jl.lamb, dict(learning_rate=0.01, b1=0.8, b2=0.99, eps=1e-6, weight_decay=0.0),
        optax=lambda h: optax.lamb(h["learning_rate"], h["b1"], h["b2"], h["eps"],
                                   weight_decay=h["weight_decay"]),
        quadratic=dict(learning_rate=0.01),
        rosenbrock=dict(learning_rate=jl.linear_decay(1e-2, 20000))),
    "lars": Row(
        jl.lars, dict(learning_rate=0.5, weight_decay=0.0, beta=0.8, trust_coefficient=0.01,
                      eps=1e-9),
        vmap_axis=("beta", 0.0, 0.95),
        optax=lambda h: optax.lars(h["learning_rate"], h["weight_decay"],
                                   trust_coefficient=h["trust_coefficient"], eps=h["eps"],
                                   momentum=h["beta"]),
        quadratic=dict(learning_rate=1.0), rosenbrock=dict(learning_rate=1.0)),
    "adafactor": Row(  # factored from 2 rows on, so the test problems' matrices are factored
        partial(jl.adafactor, min_dim_size_to_factor=2),
        dict(learning_rate=0.1, decay_rate=0.7, eps=1e-30, clipping_threshold=1.0,
             weight_decay=0.1),
        # optax computes beta_t = 1 - t^(-decay_rate) in float32 even for float64 parameters
        optax=lambda h: optax.adafactor(h["learning_rate"], min_dim_size_to_factor=2,
                                        decay_rate=h["decay_rate"], eps=h["eps"],
                                        clipping_threshold=h["clipping_threshold"],
                                        weight_decay_rate=h["learning_rate"] * h["weight_decay"]),
        optax_rtol=1e-5,
        quadratic=dict(learning_rate=0.1),
        rosenbrock=dict(learning_rate=jl.linear_decay(1e-2, 20000))),
    "muon": Row(
        jl.muon, dict(learning_rate=0.02, beta=0.9, eps=1e-8, weight_decay=0.1, adam_b1=0.8,
                      adam_b2=0.99),
        optax=lambda h: optax.contrib.muon(h["learning_rate"], beta=h["beta"], eps=h["eps"],
                                           weight_decay=h["weight_decay"],
                                           adam_weight_decay=h["weight_decay"],
                                           adam_b1=h["adam_b1"], adam_b2=h["adam_b2"]),
        # five Newton-Schulz iterations amplify float32 rounding ~10x, relative to the
        # orthogonalized matrix's O(1) entries, not to each entry
        float32_atol=1e-5,
        quadratic=dict(learning_rate=0.01), rosenbrock=dict(learning_rate=0.01)),
    "schedule_free_adamw": Row(
        jl.schedule_free_adamw, dict(learning_rate=0.01, b1=0.8, b2=0.99, eps=1e-8,
                                     weight_decay=0.1, weight_lr_power=2.0),
        optax=lambda h: optax.contrib.schedule_free_adamw(
            h["learning_rate"], b1=h["b1"], b2=h["b2"], eps=h["eps"],
            weight_decay=h["weight_decay"], weight_lr_power=h["weight_lr_power"]),
        ranges={"b1": ("(0, 1)", [0.0, 1.0, NAN])},
        quadratic=dict(learning_rate=0.03), rosenbrock=dict(learning_rate=0.01)),
}
