"""Construction-time checks of concrete hyperparameters; tracers and schedules pass untouched.

A factory called inside `jax.jit` or `jax.vmap` receives tracers; it must trace once for any
values, so only concrete values (Python numbers, NumPy and concrete JAX scalars) are checked:
  check("adam", b1=(b1, UNIT))  ->  ValueError("adam(b1=1.0): b1 must be in [0, 1), got 1.0")

Each hyperparameter is checked once, by the block that owns it. A factory built from blocks is
decorated with `public_factory`, so that a check made by one of its blocks names the call the
user wrote: `adam(b1=1.0)` fails inside `scale_by_adam`, and the message says `adam(b1=1.0)`.
"""
import contextvars
import difflib
import functools
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import keystr, tree_flatten_with_path


class Interval(NamedTuple):
  """A real interval; `str()` writes it as maths does: [0, 1), (0, inf)."""
  low: float
  high: float
  closed_low: bool = True
  closed_high: bool = False

  def __contains__(self, x: float) -> bool:
    above = x >= self.low if self.closed_low else x > self.low
    below = x <= self.high if self.closed_high else x < self.high
    return bool(above and below)

  def __str__(self) -> str:
    left = "[" if self.closed_low else "("
    right = "]" if self.closed_high else ")"
    return f"{left}{_number(self.low)}, {_number(self.high)}{right}"


UNIT = Interval(0.0, 1.0)                         # [0, 1): betas, decays
NONNEGATIVE = Interval(0.0, math.inf)             # [0, inf): rates, eps, weight decay
POSITIVE = Interval(0.0, math.inf, closed_low=False)   # (0, inf): norms, scales
PROBABILITY = Interval(0.0, 1.0, closed_high=True)     # [0, 1]


def _number(x: float) -> str:
  if math.isinf(x):
    return "inf" if x > 0 else "-inf"
  return str(int(x)) if float(x).is_integer() and abs(x) < 2 ** 53 else f"{x:g}"


_CALLER = contextvars.ContextVar("jaxopt_lab_caller", default=None)


def public_factory(factory: Callable) -> Callable:
  """Makes every check run while `factory` builds its blocks name `factory` as the call: the
  outermost decorated factory wins, so the message names what the user called."""
  @functools.wraps(factory)
  def named(*args, **kwargs):
    token = _CALLER.set(_CALLER.get() or factory.__name__)
    try:
      return factory(*args, **kwargs)
    finally:
      _CALLER.reset(token)
  return named


def caller(call: str) -> str:
  """The name to show for a check made by `call`: the public factory being built, if any."""
  return _CALLER.get() or call


def is_concrete(value: Any) -> bool:
  """True for values known at construction: not tracers, not schedules."""
  return not (isinstance(value, jax.core.Tracer) or callable(value))


def check(call: str, **specs: tuple[Any, Interval]) -> None:
  """Raises ValueError naming call, parameter, value and range for any concrete value outside it."""
  call = caller(call)
  for name, (value, interval) in specs.items():
    if is_concrete(value):
      _check_one(call, name, value, interval, integer=False)


def check_int(call: str, **specs: tuple[Any, Interval]) -> None:
  """Like `check`, for counts (steps, history sizes): the value must also be an integer."""
  call = caller(call)
  for name, (value, interval) in specs.items():
    if is_concrete(value):
      _check_one(call, name, value, interval, integer=True)


def _check_one(call: str, name: str, value: Any, interval: Interval, integer: bool) -> None:
  x = _scalar(call, name, value)
  shown = _shown(value, x)
  if integer and not (math.isfinite(x) and x == int(x)):
    raise ValueError(
        f"{call}({name}={shown}): {name} must be an integer in {interval}, got {shown}")
  if x not in interval:
    raise ValueError(f"{call}({name}={shown}): {name} must be in {interval}, got {shown}"
                     f"{_rounding_hint(value)}")


def _rounding_hint(value: Any) -> str:
  """Why a low-precision value may be out of range though its author's value was not."""
  dtype = getattr(value, "dtype", None)
  if dtype is None or not jnp.issubdtype(dtype, jnp.floating) or jnp.finfo(dtype).bits > 16:
    return ""
  return (f" (a {jnp.dtype(dtype).name} value, perhaps rounded: 0.999 is 1.0 in bfloat16; keep "
          "hyperparameters in float32, e.g. optax.inject_hyperparams(..., "
          "hyperparam_dtype=jnp.float32))")


def _shown(value: Any, x: float) -> str:
  """The value as the user wrote it when it is a Python number, else as a float."""
  return repr(value) if isinstance(value, (int, float)) else repr(x)


def _scalar(call: str, name: str, value: Any) -> float:
  try:
    array = np.asarray(value)
  except Exception as error:  # jax raises several types for unconvertible objects
    raise ValueError(f"{call}({name}=...): {name} must be a real number, got {value!r}") from error
  if not (array.dtype.kind in "biu" or jnp.issubdtype(array.dtype, jnp.floating)):
    raise ValueError(f"{call}({name}={value!r}): {name} must be a real number, got {value!r}")
  if array.ndim:
    raise ValueError(
        f"{call}({name}=...): {name} must be a scalar, got an array of shape {array.shape}; "
        "to run several values, vmap over them")
  return float(array)


def check_params(call: str, updates, params) -> None:
  """What a block that reads the parameters checks in `update`: that it got them, and that
  they match the updates leaf for leaf (`check_same_tree`)."""
  if params is None:
    raise ValueError(f"{call} needs the parameters: call update(updates, state, params)")
  check_same_tree(f"{call}.update", ("updates", updates), ("params", params))


def check_same_tree(call: str, *named_trees: tuple[str, Any]) -> None:
  """Raises ValueError naming call and the first leaf path where the trees' structures or
  shapes differ; None trees are skipped. Structure and shapes are static, so under `jit` the
  check runs once, at trace time:
    check_same_tree("scale_by_adam.update", ("grads", g), ("state.mu", mu))
    ->  ValueError("scale_by_adam.update: grads and state.mu differ at ['b']: shape (3,) vs (4,)")
  """
  (first_name, first), *others = [(n, t) for n, t in named_trees if t is not None]
  structure = jax.tree.structure(first)
  for name, tree in others:
    where = f"{call}: {first_name} and {name} differ"
    if jax.tree.structure(tree) != structure:
      raise ValueError(f"{where} {_first_difference(first, tree, first_name, name)}")
    for (path, a), b in zip(tree_flatten_with_path(first)[0], jax.tree.leaves(tree)):
      if np.shape(a) != np.shape(b):
        raise ValueError(f"{where} at {keystr(path)}: shape {np.shape(a)} vs {np.shape(b)}")


def _first_difference(a, b, a_name: str, b_name: str) -> str:
  """Where two trees of different structure first part: a leaf path only one of them has."""
  paths_a = [keystr(p) for p, _ in tree_flatten_with_path(a)[0]]
  paths_b = [keystr(p) for p, _ in tree_flatten_with_path(b)[0]]
  for i in range(max(len(paths_a), len(paths_b))):
    path_a = paths_a[i] if i < len(paths_a) else None
    path_b = paths_b[i] if i < len(paths_b) else None
    if path_a == path_b:
      continue
    if path_a is not None and path_a not in paths_b:
      return f"at {path_a}: {a_name} has a leaf there, {b_name} has none"
    if path_b is not None and path_b not in paths_a:
      return f"at {path_b}: {b_name} has a leaf there, {a_name} has none"
    return f"at {path_a}: {a_name} has its leaves in another order than {b_name}"
  return (f"in container types, with the same leaf paths: {jax.tree.structure(a)} vs "
          f"{jax.tree.structure(b)}")


def check_flag(call: str, traceable: bool = False, **flags: Any) -> None:
  """Raises ValueError unless each flag is True or False (a NumPy bool too). A `traceable`
  flag may also be a boolean scalar array or tracer (it is used in jnp.where, not in an if)."""
  call = caller(call)
  for name, value in flags.items():
    if isinstance(value, (bool, np.bool_)):
      continue
    if traceable and getattr(value, "dtype", None) == np.bool_ and np.ndim(value) == 0:
      continue
    raise ValueError(f"{call}({name}={value!r}): {name} must be True or False, got {value!r}")


def did_you_mean(word: str, choices) -> str:
  """' (did you mean 'x'?)' for the choice closest to a mistyped `word`, or '' when none is
  close. Candidates are difflib's (ratio at least 0.6, its default); among them the fewest
  typing edits wins (insertions, deletions, substitutions and swaps of two neighbours), so a
  swap is closer than a longer name that happens to share more letters:
    did_you_mean("adma", ["adamax", "adam", "sgd"])  ->  " (did you mean 'adam'?)" """
  word = str(word)
  close = difflib.get_close_matches(word, [str(choice) for choice in choices], n=5)
  if not close:
    return ""
  return f" (did you mean {min(close, key=lambda choice: _edits(word, choice))!r}?)"


def _edits(a: str, b: str) -> int:
  """The optimal-string-alignment distance: edits, counting a swap of neighbours as one."""
  previous, row = None, list(range(len(b) + 1))
  for i in range(1, len(a) + 1):
    before, current = row, [i] + [0] * len(b)
    for j in range(1, len(b) + 1):
      current[j] = min(before[j] + 1, current[j - 1] + 1, before[j - 1] + (a[i - 1] != b[j - 1]))
      if previous is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] \
          and a[i - 2] == b[j - 1]:
        current[j] = min(current[j], previous[j - 2] + 1)
    previous, row = before, current
  return row[len(b)]
