"""The textbook optimizers, each a chain of building blocks from `blocks`.

Every factory returns an `optax.GradientTransformation`; `learning_rate` may be a number, a
scalar array, a tracer or a schedule `step -> rate`, and every other numeric hyperparameter
a number, scalar array or tracer. Concrete values are checked once, by the block that owns
them, in the name of the factory the user called:
  adam(b1=1.0)  ->  ValueError: adam(b1=1.0): b1 must be in [0, 1), got 1.0
Each docstring names the torch.optim call it reproduces step for step. Every factory ends
with `with_learning_rate`, so its state holds one step count (`optax.tree.get(state,
"count")`), the one its schedule is evaluated at.

An optimizer is added by writing its factory under `@optimizer`, here or in the module of its
idea (optim/adam_family.py, sign_methods.py, ...; a new module is listed in optim/__init__.py,
before minimize): that registers it in `BY_NAME` (the CLI, the studies and `minimize` read
it) and in the public surface.
"""
from typing import Callable, Optional

import optax

from jaxopt_lab._validation import UNIT, check, public_factory
from jaxopt_lab.optim.base import Scalar, ScalarOrSchedule
from jaxopt_lab.optim.blocks import (
    _heavy_ball, scale_by_adagrad, scale_by_adam, scale_by_momentum, scale_by_nesterov,
    scale_by_rmsprop, with_learning_rate)
from jaxopt_lab.optim.masking import masked_decay

BY_NAME: dict[str, Callable[..., optax.GradientTransformation]] = {}
"""Every first-order optimizer factory by name, in the order the lectures introduce them."""


def optimizer(factory: Callable) -> Callable:
  """Registers `factory` in `BY_NAME`; its blocks' checks name it (`public_factory`)."""
  BY_NAME[factory.__name__] = public_factory(factory)
  return BY_NAME[factory.__name__]


@optimizer
def sgd(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
  """w <- w - lr g (torch.optim.SGD)."""
  return with_learning_rate(learning_rate=learning_rate)


@optimizer
def momentum(learning_rate: ScalarOrSchedule, beta: Scalar = 0.9,
             accumulator_dtype=None) -> optax.GradientTransformation:
  """Heavy ball: v <- beta v + g; w <- w - lr v (torch.optim.SGD(momentum=beta)).

  accumulator_dtype: the dtype v is stored in (optax.sgd's); see `scale_by_momentum`.
  """
  return with_learning_rate(scale_by_momentum(beta, accumulator_dtype),
                            learning_rate=learning_rate)


@optimizer
def nesterov(learning_rate: ScalarOrSchedule, beta: Scalar = 0.9,
             accumulator_dtype=None) -> optax.GradientTransformation:
  """Nesterov (Sutskever et al. 2013): v <- beta v + g; w <- w - lr (g + beta v).

  torch.optim.SGD(momentum=beta, nesterov=True); accumulator_dtype as in `momentum`.
  """
  return with_learning_rate(scale_by_nesterov(beta, accumulator_dtype),
                            learning_rate=learning_rate)


@optimizer
def adagrad(learning_rate: ScalarOrSchedule, eps: Scalar = 1e-7) -> optax.GradientTransformation:
  """AdaGrad: s <- s + |g|^2; w <- w - lr g / (sqrt(s) + eps) (torch.optim.Adagrad).

  Not optax.adagrad, which starts s at 0.1 and puts eps inside the square root.
  """
  return with_learning_rate(scale_by_adagrad(eps), learning_rate=learning_rate)


@optimizer
def rmsprop(learning_rate: ScalarOrSchedule, decay: Scalar = 0.99, eps: Scalar = 1e-8,
            momentum: Optional[Scalar] = None,
            centered: bool = False) -> optax.GradientTransformation:
  """RMSProp: s <- decay s + (1 - decay) |g|^2; d = g / (sqrt(s) + eps), then

    w <- w - lr d                                   (momentum=None, the default)
    b <- momentum b + d;   w <- w - lr b             (momentum a number in [0, 1))

  centered=True divides by sqrt(s - |m|^2) instead, m the running mean of g (see
  `scale_by_rmsprop`). torch.optim.RMSprop(alpha=decay, eps, momentum, centered), step for
  step (momentum=0 there is momentum=0.0 here, with a buffer that holds d); optax.rmsprop
  puts eps inside the square root by default.
  """
  blocks = [scale_by_rmsprop(decay, eps, centered)]
  if momentum is not None:
    check("rmsprop", momentum=(momentum, UNIT))
    blocks.append(_heavy_ball(momentum, None, "rmsprop"))
  return with_learning_rate(*blocks, learning_rate=learning_rate)


@optimizer
def adam(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
         eps: Scalar = 1e-8, bias_correction: bool = True, eps_root: Scalar = 0.0,
         mu_dtype=None) -> optax.GradientTransformation:
  """Adam: w <- w - lr m_hat / (sqrt(v_hat + eps_root) + eps) (torch.optim.Adam, which has
  eps_root = 0; optax.adam's eps_root and mu_dtype); see `scale_by_adam`."""
  return with_learning_rate(
      scale_by_adam(b1, b2, eps, bias_correction, eps_root=eps_root, mu_dtype=mu_dtype),
      learning_rate=learning_rate)


@optimizer
def adamw(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
          eps: Scalar = 1e-8, weight_decay: Scalar = 1e-2, eps_root: Scalar = 0.0,
          mu_dtype=None, mask=None) -> optax.GradientTransformation:
  """AdamW: w <- w - lr (m_hat / (sqrt(v_hat + eps_root) + eps) + weight_decay w)
  (torch.optim.AdamW; eps_root and mu_dtype as in `adam`).

  The decay is decoupled from the moments and scaled by the learning rate. `mask`, as
  optax.adamw's, selects the leaves that decay: a pytree of bools with the parameters'
  structure (or a prefix of it), or a function params -> such a pytree; the unmarked leaves
  are torch's second parameter group, with weight_decay=0 (see `masked`).
  """
  return with_learning_rate(scale_by_adam(b1, b2, eps, eps_root=eps_root, mu_dtype=mu_dtype),
                            masked_decay(weight_decay, mask), learning_rate=learning_rate)


@optimizer
def amsgrad(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
            eps: Scalar = 1e-8, bias_correction: bool = True, eps_root: Scalar = 0.0,
            mu_dtype=None) -> optax.GradientTransformation:
  """AMSGrad: Adam with v_max <- max(v_max, v) in the denominator.

  torch.optim.Adam(amsgrad=True); with bias_correction=False and eps=0, Reddi et al. (2018)
  Algorithm 2 with a constant step. See `scale_by_adam(amsgrad=True)`; not optax.amsgrad, which
  takes the maximum after bias correction. eps_root and mu_dtype as in `adam`.
  """
  return with_learning_rate(
      scale_by_adam(b1, b2, eps, bias_correction, amsgrad=True, eps_root=eps_root,
                    mu_dtype=mu_dtype),
      learning_rate=learning_rate)


__all__ = list(BY_NAME)
