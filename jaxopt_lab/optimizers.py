"""The textbook optimizers, each an `optax.chain` of building blocks from `transforms`.

Every factory returns an `optax.GradientTransformation`; `learning_rate` may be a number, a
scalar array, a tracer or a schedule `step -> rate`, and every other numeric hyperparameter
a number, scalar array or tracer. Concrete values are checked at construction:
  adam(b1=1.0)  ->  ValueError: adam(b1=1.0): b1 must be in [0, 1), got 1.0
Each docstring names the torch.optim call it reproduces step for step.
"""
import optax

from jaxopt_lab._validation import NONNEGATIVE, UNIT, check
from jaxopt_lab.transforms import (
    Scalar, ScalarOrSchedule, add_decayed_weights, scale_by_adagrad, scale_by_adam,
    scale_by_amsgrad, scale_by_learning_rate, scale_by_momentum, scale_by_nesterov, scale_by_rms)


def sgd(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
  """w <- w - lr g (torch.optim.SGD)."""
  check("sgd", learning_rate=(learning_rate, NONNEGATIVE))
  return optax.chain(scale_by_learning_rate(learning_rate))


def momentum(learning_rate: ScalarOrSchedule, beta: Scalar = 0.9) -> optax.GradientTransformation:
  """Heavy ball: v <- beta v + g; w <- w - lr v (torch.optim.SGD(momentum=beta))."""
  check("momentum", learning_rate=(learning_rate, NONNEGATIVE), beta=(beta, UNIT))
  return optax.chain(scale_by_momentum(beta), scale_by_learning_rate(learning_rate))


def nesterov(learning_rate: ScalarOrSchedule, beta: Scalar = 0.9) -> optax.GradientTransformation:
  """Nesterov (Sutskever et al. 2013): v <- beta v + g; w <- w - lr (g + beta v).

  torch.optim.SGD(momentum=beta, nesterov=True).
  """
  check("nesterov", learning_rate=(learning_rate, NONNEGATIVE), beta=(beta, UNIT))
  return optax.chain(scale_by_nesterov(beta), scale_by_learning_rate(learning_rate))


def adagrad(learning_rate: ScalarOrSchedule, eps: Scalar = 1e-7) -> optax.GradientTransformation:
  """AdaGrad: s <- s + g^2; w <- w - lr g / (sqrt(s) + eps) (torch.optim.Adagrad)."""
  check("adagrad", learning_rate=(learning_rate, NONNEGATIVE), eps=(eps, NONNEGATIVE))
  return optax.chain(scale_by_adagrad(eps), scale_by_learning_rate(learning_rate))


def rmsprop(learning_rate: ScalarOrSchedule, decay: Scalar = 0.99,
            eps: Scalar = 1e-8) -> optax.GradientTransformation:
  """RMSProp: s <- decay s + (1 - decay) g^2; w <- w - lr g / (sqrt(s) + eps).

  torch.optim.RMSprop(alpha=decay).
  """
  check("rmsprop", learning_rate=(learning_rate, NONNEGATIVE), decay=(decay, UNIT),
        eps=(eps, NONNEGATIVE))
  return optax.chain(scale_by_rms(decay, eps), scale_by_learning_rate(learning_rate))


def adam(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
         eps: Scalar = 1e-8, bias_correction: bool = True) -> optax.GradientTransformation:
  """Adam: w <- w - lr m_hat / (sqrt(v_hat) + eps) (torch.optim.Adam); see `scale_by_adam`."""
  check("adam", learning_rate=(learning_rate, NONNEGATIVE), b1=(b1, UNIT), b2=(b2, UNIT),
        eps=(eps, NONNEGATIVE))
  return optax.chain(scale_by_adam(b1, b2, eps, bias_correction),
                     scale_by_learning_rate(learning_rate))


def adamw(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
          eps: Scalar = 1e-8, weight_decay: Scalar = 1e-2) -> optax.GradientTransformation:
  """AdamW: w <- w - lr (m_hat / (sqrt(v_hat) + eps) + weight_decay w) (torch.optim.AdamW).

  The decay is decoupled from the moments and scaled by the learning rate.
  """
  check("adamw", learning_rate=(learning_rate, NONNEGATIVE), b1=(b1, UNIT), b2=(b2, UNIT),
        eps=(eps, NONNEGATIVE), weight_decay=(weight_decay, NONNEGATIVE))
  return optax.chain(scale_by_adam(b1, b2, eps), add_decayed_weights(weight_decay),
                     scale_by_learning_rate(learning_rate))


def amsgrad(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
            eps: Scalar = 1e-8, bias_correction: bool = True) -> optax.GradientTransformation:
  """AMSGrad: Adam with v_max <- max(v_max, v) in the denominator.

  torch.optim.Adam(amsgrad=True); with bias_correction=False and eps=0, Reddi et al. (2018)
  Algorithm 2 with a constant step. See `scale_by_amsgrad`.
  """
  check("amsgrad", learning_rate=(learning_rate, NONNEGATIVE), b1=(b1, UNIT), b2=(b2, UNIT),
        eps=(eps, NONNEGATIVE))
  return optax.chain(scale_by_amsgrad(b1, b2, eps, bias_correction),
                     scale_by_learning_rate(learning_rate))


BY_NAME = {factory.__name__: factory for factory in (
    sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, amsgrad)}
"""Every optimizer factory by name, in the order the lectures introduce them."""
