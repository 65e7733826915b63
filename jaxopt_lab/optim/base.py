"""What every block shares: hyperparameter types, the precision blocks compute in, and the few
operations that must stay finite at their degenerate points.

A hyperparameter is a `Scalar` (a Python number, a scalar array or a tracer) or, for learning
rates, a `Schedule` `step -> rate`. Blocks compute in at least float32 (`wide`) and hand back
updates and state in their own dtypes (`cast_like`), so bfloat16 parameters keep b2 = 0.999.

Degenerate points (zero gradients, eps = 0, zero norms, phases of length 0) must give finite
values and finite forward and reverse derivatives, since differentiating through an optimizer
step (hypergradients) is a normal use. `jnp.where(x > 0, f(x), 0)` is not enough: the branch
not taken is still differentiated, and 0 * inf is NaN. Each helper below therefore feeds the
branch not taken a harmless value as well ("double where"):

  safe_sqrt(x)       sqrt(max(x, 0)); derivative 0 at x <= 0 (not inf), by a custom JVP, so
                     the step itself costs one max more than sqrt
  safe_div(a, b)     a / b for b != 0, else 0
  safe_norm(tree)    sqrt(sum |x|^2) over every leaf; gradient 0 at the zero tree
  abs_sq(x)          |x|^2 = x conj(x), real: a complex leaf counts as its (real, imaginary) pair

Complex leaves follow optax: the gradient of a real loss with respect to z = x + iy is passed
as g = dL/dx + i dL/dy (the conjugate of what `jax.grad` returns), and second moments use
|g|^2 = g conj(g), so Adam's step on the gradient 1j is -lr * 1j.
"""
from typing import Callable, Optional, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab._validation import caller, is_concrete

Scalar = Union[float, jax.Array]
Schedule = Callable[[jax.Array], Scalar]
ScalarOrSchedule = Union[Scalar, Schedule]


def wide(x: jax.Array) -> jax.Array:
  """`x` in at least float32 (complex64 for complex), the precision every block computes in."""
  return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def cast_like(tree, reference):
  """`tree` with each leaf cast to the dtype of the matching leaf of `reference` (a complex
  value cast to a real dtype keeps its real part, which is all a real state holds)."""
  return jax.tree.map(lambda x, r: _cast(x, r.dtype), tree, reference)


def _cast(x: jax.Array, dtype) -> jax.Array:
  if jnp.iscomplexobj(x) and not jnp.issubdtype(dtype, jnp.complexfloating):
    x = jnp.real(x)
  return x.astype(dtype)


def real_dtype(dtype) -> np.dtype:
  """float32 for complex64, float64 for complex128, the dtype itself for a real dtype."""
  return jnp.finfo(dtype).dtype


def real_zeros_like(tree, dtype=None):
  """Zeros shaped like `tree`, in `dtype` or each leaf's real dtype: the state of |g|^2."""
  return jax.tree.map(lambda x: jnp.zeros(jnp.shape(x), dtype or real_dtype(x.dtype)), tree)


def abs_sq(x: jax.Array) -> jax.Array:
  """|x|^2, real: x * x for a real x, re(x)^2 + im(x)^2 for a complex one (optax's abs_sq)."""
  if jnp.iscomplexobj(x):
    return jnp.real(x) ** 2 + jnp.imag(x) ** 2
  return x * x


@jax.custom_jvp
def safe_sqrt(x: jax.Array) -> jax.Array:
  """sqrt(x) for x > 0 and 0 elsewhere, with derivative 0 (not inf, nor NaN) at x <= 0."""
  return jnp.sqrt(jnp.maximum(x, 0))


@safe_sqrt.defjvp
def _safe_sqrt_jvp(primals, tangents):
  (x,), (dx,) = primals, tangents
  root = safe_sqrt(x)
  positive = x > 0
  return root, jnp.where(positive, dx / (2 * jnp.where(positive, root, 1)), 0)


def safe_div(numerator: jax.Array, denominator: jax.Array,
             never_zero: bool = False) -> jax.Array:
  """numerator / denominator where the denominator is not 0, and 0 where it is (0/0 and x/0
  alike: a step whose scale is undefined is no step). Finite derivatives everywhere.
  never_zero=True (the caller knows the denominator is never 0, e.g. root + eps with
  `known_positive(eps)`) gives the same values as a plain division, without the selects."""
  if never_zero:
    return numerator / denominator
  nonzero = denominator != 0
  return jnp.where(nonzero, numerator / jnp.where(nonzero, denominator, 1), 0)


def known_positive(value) -> bool:
  """True for a number known now (not a tracer, not a schedule) that is > 0 even in float32,
  the least precision blocks compute in: then d + value > 0 for every d >= 0."""
  return is_concrete(value) and bool(np.all(np.asarray(value, np.float32) > 0))


def known_zero(value) -> bool:
  """True for a number known now (not a tracer, not a schedule) that is 0: a term it scales
  can be left out."""
  return is_concrete(value) and not np.any(np.asarray(value))


def over_root_plus_eps(numerator: jax.Array, root: jax.Array, eps) -> jax.Array:
  """`safe_div`(numerator, root + eps) for a root >= 0, which is never 0 where eps is known
  positive (the denominator is then at least eps)."""
  return safe_div(numerator, root + eps, never_zero=known_positive(eps))


def sum_of_squares(tree) -> jax.Array:
  """sum |x|^2 over every leaf (0 for a tree without leaves), in at least float32."""
  leaves = [jnp.sum(abs_sq(wide(x))) for x in jax.tree.leaves(tree)]
  return sum(leaves) if leaves else jnp.zeros([], jnp.float32)


def safe_norm(tree) -> jax.Array:
  """The Euclidean norm of all leaves together, sqrt(sum |x|^2), with gradient 0 at the zero
  tree (the subgradient of least norm) instead of NaN; complex leaves count as pairs."""
  return safe_sqrt(sum_of_squares(tree))


def tree_real_vdot(a, b) -> jax.Array:
  """<a, b> = sum re(conj(a) b) over every leaf: the inner product of the (real, imaginary)
  pairs, in at least float32 (real for complex trees too)."""
  terms = [jnp.real(jnp.vdot(wide(x), wide(y))) for x, y in zip(jax.tree.leaves(a),
                                                                   jax.tree.leaves(b))]
  return sum(terms) if terms else jnp.zeros([], jnp.float32)


def canonical_dtype(call: str, name: str, dtype) -> Optional[np.dtype]:
  """`dtype` as a NumPy dtype (None stays None), refused in one line unless it is a floating
  or complex dtype; float64 becomes float32 when x64 is off, as jnp arrays would."""
  if dtype is None:
    return None
  try:
    canonical = jnp.dtype(dtype)
  except TypeError:
    canonical = None
  if canonical is None or not jnp.issubdtype(canonical, jnp.inexact):
    raise ValueError(f"{caller(call)}({name}={dtype!r}): {name} must be a floating dtype "
                     f"(jnp.bfloat16, jnp.float32, ...) or None, got {dtype!r}")
  return jax.dtypes.canonicalize_dtype(canonical)


def check_transforms(call: str, name: str, transforms, at_least_one: bool = False) -> None:
  """Raises ValueError unless `transforms` are optax.GradientTransformations (and, with
  at_least_one, there is one)."""
  call = caller(call)
  if at_least_one and not transforms:
    raise ValueError(f"{call}({name}=[]): {name} must be at least one "
                     "optax.GradientTransformation, got none")
  for transform in transforms:
    if not isinstance(transform, optax.GradientTransformation):
      raise ValueError(f"{call}({name}=...): {name} must be optax.GradientTransformations, got "
                       f"{type(transform).__name__} {transform!r:.40}")


def step_count(state) -> Optional[jax.Array]:
  """The step count of an optimizer state: the first NamedTuple field named `count` that holds
  an integer scalar (optax's convention: updates applied so far), or None if it has none."""
  def named_count(path, leaf):
    return (isinstance(path[-1], jax.tree_util.GetAttrKey) and path[-1].name == "count"
            and jnp.issubdtype(jnp.result_type(leaf), jnp.integer) and jnp.ndim(leaf) == 0)
  found = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(state)
           if named_count(path, leaf)]
  return found[0] if found else None
