"""The textbook optimizers, each an `optax.chain` of building blocks from `blocks`.

Every factory returns an `optax.GradientTransformation`; `learning_rate` may be a number, a
scalar array, a tracer or a schedule `step -> rate`, and every other numeric hyperparameter
a number, scalar array or tracer. Concrete values are checked once, by the block that owns
them, in the name of the factory the user called:
  adam(b1=1.0)  ->  ValueError: adam(b1=1.0): b1 must be in [0, 1), got 1.0
Each docstring names the torch.optim call it reproduces step for step.

An optimizer is added by writing its factory under `@optimizer`, here or in the module of its
idea (optim/adam_family.py, sign_methods.py, ...; a new module is listed in optim/__init__.py,
before minimize): that registers it in `BY_NAME` (the CLI, the studies and `minimize` read
it) and in the public surface.
"""
from typing import Callable

import optax

from jaxopt_lab._validation import public_factory
from jaxopt_lab.optim.base import Scalar, ScalarOrSchedule
from jaxopt_lab.optim.blocks import (
    scale_by_adagrad, scale_by_adam, scale_by_learning_rate,
    scale_by_momentum, scale_by_nesterov, scale_by_rmsprop)
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
  return optax.chain(scale_by_learning_rate(learning_rate))


@optimizer
def momentum(learning_rate: ScalarOrSchedule, beta: Scalar = 0.9) -> optax.GradientTransformation:
  """Heavy ball: v <- beta v + g; w <- w - lr v (torch.optim.SGD(momentum=beta))."""
  return optax.chain(scale_by_momentum(beta), scale_by_learning_rate(learning_rate))


@optimizer
def nesterov(learning_rate: ScalarOrSchedule, beta: Scalar = 0.9) -> optax.GradientTransformation:
  """Nesterov (Sutskever et al. 2013): v <- beta v + g; w <- w - lr (g + beta v).

  torch.optim.SGD(momentum=beta, nesterov=True).
  """
  return optax.chain(scale_by_nesterov(beta), scale_by_learning_rate(learning_rate))


@optimizer
def adagrad(learning_rate: ScalarOrSchedule, eps: Scalar = 1e-7) -> optax.GradientTransformation:
  """AdaGrad: s <- s + g^2; w <- w - lr g / (sqrt(s) + eps) (torch.optim.Adagrad).

  Not optax.adagrad, which starts s at 0.1 and puts eps inside the square root.
  """
  return optax.chain(scale_by_adagrad(eps), scale_by_learning_rate(learning_rate))


@optimizer
def rmsprop(learning_rate: ScalarOrSchedule, decay: Scalar = 0.99,
            eps: Scalar = 1e-8) -> optax.GradientTransformation:
  """RMSProp: s <- decay s + (1 - decay) g^2; w <- w - lr g / (sqrt(s) + eps).

  torch.optim.RMSprop(alpha=decay); optax.rmsprop puts eps inside the square root by default.
  """
  return optax.chain(scale_by_rmsprop(decay, eps), scale_by_learning_rate(learning_rate))


@optimizer
def adam(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
         eps: Scalar = 1e-8, bias_correction: bool = True) -> optax.GradientTransformation:
  """Adam: w <- w - lr m_hat / (sqrt(v_hat) + eps) (torch.optim.Adam); see `scale_by_adam`."""
  return optax.chain(scale_by_adam(b1, b2, eps, bias_correction),
                     scale_by_learning_rate(learning_rate))


@optimizer
def adamw(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
          eps: Scalar = 1e-8, weight_decay: Scalar = 1e-2,
          mask=None) -> optax.GradientTransformation:
  """AdamW: w <- w - lr (m_hat / (sqrt(v_hat) + eps) + weight_decay w) (torch.optim.AdamW).

  The decay is decoupled from the moments and scaled by the learning rate. `mask`, as
  optax.adamw's, selects the leaves that decay: a pytree of bools with the parameters'
  structure (or a prefix of it), or a function params -> such a pytree; the unmarked leaves
  are torch's second parameter group, with weight_decay=0 (see `masked`).
  """
  return optax.chain(scale_by_adam(b1, b2, eps), masked_decay(weight_decay, mask),
                     scale_by_learning_rate(learning_rate))


@optimizer
def amsgrad(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
            eps: Scalar = 1e-8, bias_correction: bool = True) -> optax.GradientTransformation:
  """AMSGrad: Adam with v_max <- max(v_max, v) in the denominator.

  torch.optim.Adam(amsgrad=True); with bias_correction=False and eps=0, Reddi et al. (2018)
  Algorithm 2 with a constant step. See `scale_by_adam(amsgrad=True)`; not optax.amsgrad, which
  takes the maximum after bias correction.
  """
  return optax.chain(scale_by_adam(b1, b2, eps, bias_correction, amsgrad=True),
                     scale_by_learning_rate(learning_rate))


__all__ = list(BY_NAME)
