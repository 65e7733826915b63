"""Combinators of gradient transformations beyond `optax.chain`."""
import jax
import optax

from jaxopt_lab.optim.base import check_transforms

__all__ = ["one_of"]


def one_of(transforms: list, index) -> optax.GradientTransformationExtraArgs:
  """transforms[index] for a traced integer index, so that a vmapped sweep can treat the
  optimizer as one more hyperparameter: every candidate updates its own state from the same
  gradients, and the chosen one's updates are returned (lax.select_n; the others are unused).
  The cost is every candidate's update at every step."""
  check_transforms("one_of", "transforms", list(transforms), at_least_one=True)
  transforms = [optax.with_extra_args_support(t) for t in transforms]

  def init(params):
    return tuple(t.init(params) for t in transforms)

  def update(updates, state, params=None, **extra_args):
    results = [t.update(updates, s, params, **extra_args) for t, s in zip(transforms, state)]
    chosen = jax.tree.map(lambda *candidates: jax.lax.select_n(index, *candidates),
                          *[u for u, _ in results])
    return chosen, tuple(s for _, s in results)

  return optax.GradientTransformationExtraArgs(init, update)
