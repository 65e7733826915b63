"""What every block shares: the types of hyperparameters and the precision blocks compute in.

A hyperparameter is a `Scalar` (a Python number, a scalar array or a tracer) or, for learning
rates, a `Schedule` `step -> rate`. Blocks compute in at least float32 (`wide`) and hand back
updates and state in their own dtypes (`cast_like`), so bfloat16 parameters keep b2 = 0.999.
"""
from typing import Callable, Union

import jax
import jax.numpy as jnp

Scalar = Union[float, jax.Array]
Schedule = Callable[[jax.Array], Scalar]
ScalarOrSchedule = Union[Scalar, Schedule]


def wide(x: jax.Array) -> jax.Array:
  """`x` in at least float32, the precision every block computes in."""
  return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def cast_like(tree, reference):
  """`tree` with each leaf cast to the dtype of the matching leaf of `reference`."""
  return jax.tree.map(lambda x, r: x.astype(r.dtype), tree, reference)
