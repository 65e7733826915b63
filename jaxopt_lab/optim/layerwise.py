"""Layer-wise trust ratios: each leaf's step scaled by |w| / |u|, so that every layer moves by
the same fraction of its weights whatever its gradient's scale (LARS for SGD, LAMB for Adam).

A leaf is a layer's weight or bias (one leaf = one block, as in optax). The ratio is 1 for a
leaf whose weights or update are 0, and its norms are safe at 0 in their derivatives.
"""
import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import NONNEGATIVE, POSITIVE, check, check_params
from jaxopt_lab.optim.aliases import optimizer
from jaxopt_lab.optim.base import Scalar, ScalarOrSchedule, safe_norm, wide
from jaxopt_lab.optim.blocks import (
    add_decayed_weights, scale_by_adam, scale_by_learning_rate, scale_by_momentum,
    scale_by_nesterov, with_learning_rate)
from jaxopt_lab.optim.masking import masked, masked_decay

__all__ = ["scale_by_trust_ratio", "lamb", "lars"]


def _trust_ratio(trust_coefficient, eps) -> optax.GradientTransformation:
  def init(params):
    del params
    return optax.EmptyState()

  def update(updates, state, params=None):
    check_params("scale_by_trust_ratio", updates, params)

    def scaled(u, w):
      weight_norm, update_norm = safe_norm(w), safe_norm(u)
      both = (weight_norm > 0) & (update_norm > 0)
      ratio = trust_coefficient * weight_norm / jnp.where(both, update_norm + eps, 1.0)
      return (wide(u) * jnp.where(both, ratio, 1.0)).astype(u.dtype)

    return jax.tree.map(scaled, updates, params), state

  return optax.GradientTransformation(init, update)


def scale_by_trust_ratio(trust_coefficient: Scalar = 1.0,
                         eps: Scalar = 0.0) -> optax.GradientTransformation:
  """u <- u * trust_coefficient |w| / (|u| + eps) per leaf; 1 where |w| = 0 or |u| = 0
  (optax.scale_by_trust_ratio; You et al. 2017, 2020)."""
  check("scale_by_trust_ratio", trust_coefficient=(trust_coefficient, POSITIVE),
        eps=(eps, NONNEGATIVE))
  return _trust_ratio(trust_coefficient, eps)


@optimizer
def lamb(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
         eps: Scalar = 1e-6, weight_decay: Scalar = 0.0, mask=None) -> optax.GradientTransformation:
  """LAMB (You et al. 2020): per leaf, r = m_hat / (sqrt(v_hat) + eps) + weight_decay w and

    w <- w - lr (|w| / |r|) r

  as optax.lamb (its eps = 1e-6). `mask` (a pytree of bools, or a function params -> one)
  selects the leaves that decay; the trust ratio applies to every leaf, as in optax.
  """
  return with_learning_rate(scale_by_adam(b1, b2, eps), masked_decay(weight_decay, mask),
                            _trust_ratio(1.0, 0.0), learning_rate=learning_rate)


@optimizer
def lars(learning_rate: ScalarOrSchedule, weight_decay: Scalar = 0.0, beta: Scalar = 0.9,
         trust_coefficient: Scalar = 1e-3, eps: Scalar = 0.0, mask=None,
         nesterov: bool = False) -> optax.GradientTransformation:
  """LARS (You, Gitman & Ginsburg 2017, Algorithm 1): per leaf, d = g + weight_decay w and

    v <- beta v + lr trust_coefficient |w| / (|d| + eps) d;   w <- w - v

  (with nesterov=True the step is lr-scaled d + beta v), as optax.lars: the decay is coupled
  (inside the trust ratio) and the learning rate sits inside the momentum. `mask` (a pytree
  of bools, or a function params -> one) selects the leaves that get the decay and the trust
  ratio, optax's weight_decay_mask and trust_ratio_mask together; the others get momentum SGD.
  """
  layerwise = optax.chain(add_decayed_weights(weight_decay),
                          scale_by_trust_ratio(trust_coefficient, eps))
  momentum = (scale_by_nesterov if nesterov else scale_by_momentum)(beta)
  return optax.chain(layerwise if mask is None else masked(layerwise, mask),
                     scale_by_learning_rate(learning_rate), momentum)
