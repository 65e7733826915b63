"""Gradient checks: analytic derivatives against float64 central differences, with a report.

  from jaxopt_lab.diagnostics import gradcheck
  report = gradcheck(loss, params)                       # every coordinate (small models)
  report = gradcheck(loss, params, num_checks=100)       # 100 random coordinates per leaf
  report = gradcheck(loss, params, num_directions=4)     # 4 random unit directions per leaf
  report = gradcheck(loss, params, grad_fn=my_backprop)  # a hand-written backward pass
  report = gradcheck(loss, params, order=2)              # Hessian-vector products too
  print(report)                                          # a table: the worst entry of each leaf
  report.raise_if_failed()                               # GradcheckError, the report its message

The lectures' rule: train with the analytic gradient, check it with a numeric one,
  numeric_i = (f(w + eps e_i) - f(w - eps e_i)) / (2 eps),
  relative error = |a - n| / max(|a|, |n|, atol / rtol),
the CS231n formula with its floor raised to atol / rtol, so that entries where both
derivatives are ~0 are compared absolutely (|a - n| <= atol) and `ok` is exactly
`max_rel_error <= rtol`. The numeric side is computed in float64 whatever the parameters'
dtype (they are upcast inside `jax.enable_x64`), so `fun` must accept float64 arrays; the
analytic side is computed at the parameters' own dtype and judged by the tolerances of its
dtype (`TOLERANCES`). All perturbed points are evaluated in one jitted, vmapped program.

Cost: a full order-1 check evaluates f 2n times for n parameters (seconds for a few thousand);
beyond that use `num_checks` or `num_directions`. A full order-2 check builds the whole n x n
Hessian. As the lectures warn, a step that crosses a kink (ReLU at 0, max) makes the numeric
side wrong there; with eps = 1e-5 this is rare, and a smaller batch of data makes it rarer.
"""
import dataclasses
import warnings
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxopt_lab._validation import NONNEGATIVE, POSITIVE, Interval, check, check_int

# Default (rtol, atol fraction) by the analytic derivatives' dtype; the default atol of a leaf
# is that fraction of its largest |derivative| (plus the float64 finite-difference noise).
# float64 derivatives agree with float64 central differences (eps = 1e-5) to ~1e-9. float32
# ones carry ~6e-8 rounding per operation, which sums over a network's reductions: correct
# float32 MLPs on digits show worst relative errors of 3e-6 (tanh) to 7e-5 (ReLU), more where
# terms cancel. rtol 1e-3 keeps them clear of false alarms by 10x or more, while a derivative
# off by 1% (relative error 1e-2) fails by 10x. Entries below atol / rtol (1% of the leaf's
# largest) are judged by atol instead. Half precision cannot resolve a 1% error: check such
# models in float32.
TOLERANCES = {"float64": (1e-6, 1e-8), "float32": (1e-3, 1e-5),
              "float16": (1e-2, 1e-3), "bfloat16": (5e-2, 1e-2)}
NOISE = 1e3 * np.finfo(np.float64).eps  # rounding of f in float64, relative to max |f|: below
                                        # NOISE max|f| / (2 eps) differences resolve nothing
BATCH_ENTRIES = 2 ** 20  # perturbed copies of the parameters held at once, in numbers


class GradcheckError(AssertionError):
  """A failed gradient check; `str(error)` is the report's table, `error.report` the report."""

  def __init__(self, report: "GradcheckReport"):
    super().__init__(str(report))
    self.report = report


@dataclasses.dataclass(frozen=True)
class LeafCheck:
  """The worst checked entry of one leaf (one row of the report)."""
  path: str                 # jax.tree_util.keystr of the leaf
  shape: tuple[int, ...]
  index: tuple[int, ...]    # the worst entry within the leaf; () for a directional check
  direction: str            # what was perturbed for it, when not that entry itself
  analytic: float
  numeric: float
  rel_error: float          # |a - n| / max(|a|, |n|, atol / rtol); inf where either is nan
  atol: float
  num_checked: int
  ok: bool

  @property
  def where(self) -> str:
    entry = f"[{', '.join(map(str, self.index))}]" if self.index else ""
    return " along ".join(part for part in (entry, self.direction) if part) or "(scalar)"


@dataclasses.dataclass(frozen=True)
class GradcheckReport:
  """What `gradcheck` found: `ok`, `max_rel_error`, and the worst entry of every leaf."""
  ok: bool
  max_rel_error: float
  leaves: tuple[LeafCheck, ...]
  order: int
  checked: str              # e.g. "all 4,810 coordinates", "5 random directions per leaf"
  dtype: str                # of the analytic derivatives, which chose the default tolerances
  eps: float
  rtol: float
  atol: Optional[float]     # None: each leaf's default, see LeafCheck.atol

  @property
  def worst(self) -> LeafCheck:
    return max(self.leaves, key=lambda leaf: leaf.rel_error)

  def raise_if_failed(self) -> "GradcheckReport":
    """Raises GradcheckError (message: this report) unless ok; returns the report otherwise."""
    if not self.ok:
      raise GradcheckError(self)
    return self

  def __str__(self) -> str:
    what = ("gradient" if self.order == 1 else
            "Hessian-vector products H d (jvp of grad_fn) vs differences of grad_fn")
    verdict = "passed" if self.ok else "FAILED"
    relation = "<=" if self.ok else ">"
    header = (f"gradcheck {verdict}: order {self.order} ({what}), {self.checked}; {self.dtype} "
              f"analytic vs float64 central differences (eps {self.eps:g}); max relative "
              f"error {self.max_rel_error:.2e} {relation} rtol {self.rtol:g}")
    columns = ["leaf", "shape", "checked", "worst at", "analytic", "numeric", "rel. error",
               "atol", "result"]
    rows = [[leaf.path or "(root)", str(leaf.shape), str(leaf.num_checked), leaf.where,
             f"{leaf.analytic:.6e}", f"{leaf.numeric:.6e}", f"{leaf.rel_error:.2e}",
             f"{leaf.atol:.1e}", "ok" if leaf.ok else "FAIL"] for leaf in self.leaves]
    widths = [max(len(row[i]) for row in [columns, *rows]) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in [columns, *rows]]
    return "\n".join([header, *lines])


@dataclasses.dataclass(frozen=True)
class _Layout:
  """Where each leaf of the parameters sits in the flat float64 vector."""
  treedef: Any
  paths: list[str]
  shapes: list[tuple[int, ...]]
  dtypes: list[np.dtype]
  offsets: np.ndarray  # [leaves + 1]

  @property
  def size(self) -> int:
    return int(self.offsets[-1])

  def leaf_of(self, flat_index: np.ndarray) -> np.ndarray:
    return np.searchsorted(self.offsets, flat_index, side="right") - 1

  def index_in_leaf(self, flat_index: int) -> tuple[int, ...]:
    leaf = int(self.leaf_of(flat_index))
    position = flat_index - int(self.offsets[leaf])
    return tuple(int(i) for i in np.unravel_index(position, self.shapes[leaf]))

  def describe(self, flat_index: int) -> str:
    leaf, index = int(self.leaf_of(flat_index)), self.index_in_leaf(flat_index)
    return self.paths[leaf] + (f"[{', '.join(map(str, index))}]" if index else "")

  def unravel64(self, flat: jax.Array):
    """The flat float64 vector as a pytree of float64 leaves (ravel_pytree would cast back)."""
    pieces = [flat[start:stop].reshape(shape) for start, stop, shape
              in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]
    return self.treedef.unflatten(pieces)

  def ravel64(self, tree) -> jax.Array:
    leaves = self.treedef.flatten_up_to(tree)
    return jnp.concatenate([jnp.ravel(leaf).astype(jnp.float64) for leaf in leaves])

  def round_to_dtypes(self, vectors: np.ndarray) -> np.ndarray:
    """Each leaf's segment of `vectors` rounded to that leaf's dtype (tangents are fed so)."""
    out = vectors.copy()
    for start, stop, dtype in zip(self.offsets[:-1], self.offsets[1:], self.dtypes):
      out[:, start:stop] = vectors[:, start:stop].astype(dtype).astype(np.float64)
    return out


@dataclasses.dataclass(frozen=True)
class _Directions:
  """The perturbations: coordinates e_i (`indices`) or unit vectors (rows of `vectors`)."""
  indices: Optional[np.ndarray]
  vectors: Optional[np.ndarray]
  leaf: np.ndarray        # [directions] leaf each direction lives in (order 1)
  labels: list[str]
  checked: str

  @property
  def values(self) -> np.ndarray:
    return self.indices if self.indices is not None else self.vectors

  def moved(self, w: jax.Array, direction: jax.Array, step: float) -> jax.Array:
    return w.at[direction].add(step) if self.indices is not None else w + step * direction


def gradcheck(fun: Callable[[Any], jax.Array], params: Any,
              grad_fn: Optional[Callable[[Any], Any]] = None, *, eps: float = 1e-5,
              rtol: Optional[float] = None, atol: Optional[float] = None,
              num_checks: Optional[int] = None, num_directions: Optional[int] = None,
              seed: int = 0, order: int = 1, raise_on_failure: bool = False) -> GradcheckReport:
  """Checks `grad_fn` (default jax.grad(fun)) against central differences of `fun` in float64.

  order 1 compares a_i = grad_fn(w)_i with (f(w + eps e_i) - f(w - eps e_i)) / (2 eps) at every
  coordinate, or at `num_checks` random ones in each leaf (the lectures' grad_check_sparse); with
  `num_directions=k` it compares <grad_fn(w), d> with (f(w + eps d) - f(w - eps d)) / (2 eps)
  for k random unit directions d inside each leaf. order 2 (torch's gradgradcheck) compares
  Hessian-vector products H d = jvp(grad_fn, w, d) with (g(w + eps d) - g(w - eps d)) / (2 eps),
  g = grad_fn in float64, along the same kinds of directions (random ones span all leaves).
  `rtol` and `atol` default to `TOLERANCES` of the analytic dtype; `atol` given is absolute.
  `fun` must be traceable and accept float64 leaves; `seed` picks the random checks.
  """
  _validate(eps, rtol, atol, num_checks, num_directions, order)
  path_leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
  leaves = [jnp.asarray(leaf) for _, leaf in path_leaves]
  paths = [jax.tree_util.keystr(path) for path, _ in path_leaves]
  for path, leaf in zip(paths, leaves):
    if not jnp.issubdtype(leaf.dtype, jnp.floating):
      raise ValueError(f"gradcheck: leaf {path or '(root)'} has dtype {leaf.dtype}; only "
                       "real floating-point parameters have gradients to check")
  if not leaves:
    raise ValueError("gradcheck: params has no leaves to check")
  sizes = [leaf.size for leaf in leaves]
  layout = _Layout(treedef, paths, [leaf.shape for leaf in leaves],
                   [np.dtype(leaf.dtype) for leaf in leaves], np.cumsum([0, *sizes]))
  params = treedef.unflatten(leaves)
  output = jax.eval_shape(fun, params)
  if output.shape != ():
    raise ValueError(f"gradcheck: fun must return a scalar, got shape {output.shape}")
  grad_fn = jax.grad(fun) if grad_fn is None else grad_fn
  directions = _directions(layout, num_checks, num_directions, order,
                           np.random.default_rng(seed))
  w64 = np.concatenate([np.asarray(leaf, np.float64).ravel() for leaf in leaves])
  if order == 1:
    gradient = jax.jit(grad_fn)(params)
    dtype = _check_like_params(gradient, layout)
    flat = np.concatenate([np.asarray(g, np.float64).ravel()
                           for g in treedef.flatten_up_to(gradient)])
    if directions.indices is not None:
      analytic = flat[directions.indices]
    else:
      analytic = directions.vectors @ flat
    numeric, scale = _first_differences(fun, layout, w64, directions, eps)
    entry_leaf, locate = _first_order_entries(layout, directions)
  else:
    analytic, dtype = _hessian_vector_products(grad_fn, params, layout, directions)
    numeric, scale = _second_differences(grad_fn, layout, w64, directions, eps)
    analytic, numeric = analytic.ravel(), numeric.ravel()
    entry_leaf, locate = _second_order_entries(layout, directions)
  report = _report(layout, analytic, numeric, entry_leaf, locate,
                   dtype=dtype, order=order, checked=directions.checked, eps=eps, rtol=rtol,
                   atol=atol, noise=NOISE * scale / (2 * eps))
  return report.raise_if_failed() if raise_on_failure else report


def _validate(eps, rtol, atol, num_checks, num_directions, order):
  check("gradcheck", eps=(eps, POSITIVE))
  if rtol is not None:
    check("gradcheck", rtol=(rtol, POSITIVE))
  if atol is not None:
    check("gradcheck", atol=(atol, NONNEGATIVE))
  check_int("gradcheck", order=(order, Interval(1, 2, closed_high=True)))
  for name, value in (("num_checks", num_checks), ("num_directions", num_directions)):
    if value is not None:
      check_int("gradcheck", **{name: (value, Interval(1, np.inf))})
  if num_checks is not None and num_directions is not None:
    raise ValueError(f"gradcheck(num_checks={num_checks}, num_directions={num_directions}): "
                     "num_directions must be None when num_checks is given (random coordinates "
                     f"or random directions, not both), got {num_directions}")


def _directions(layout, num_checks, num_directions, order, rng) -> _Directions:
  n = layout.size
  if num_directions is None:
    indices = np.arange(n)
    if num_checks is not None:  # sampled in every leaf, so that no leaf goes unchecked
      indices = np.concatenate([
          start + np.sort(rng.choice(stop - start, min(num_checks, stop - start), replace=False))
          for start, stop in zip(layout.offsets[:-1], layout.offsets[1:])])
    checked = (f"all {n:,} coordinates" if len(indices) == n else
               f"{len(indices):,} random coordinates of {n:,} (at most {num_checks} per leaf)")
    labels = [layout.describe(i) for i in indices] if order == 2 else []
    return _Directions(indices, None, layout.leaf_of(indices), labels, checked)
  if order == 2:  # H d is a vector: its entries say where an error is, so d spans all leaves
    vectors = rng.normal(size=(num_directions, n))
    leaf = np.full(num_directions, -1)
    checked = f"{num_directions} random directions"
  else:  # <g, d> is one number: directions inside one leaf say which leaf is wrong
    nonempty = np.flatnonzero(np.diff(layout.offsets))
    vectors = np.zeros((num_directions * len(nonempty), n))
    leaf = np.repeat(nonempty, num_directions)
    for row, l in enumerate(leaf):
      start, stop = layout.offsets[l], layout.offsets[l + 1]
      vectors[row, start:stop] = rng.normal(size=stop - start)
    checked = f"{num_directions} random directions per leaf"
  vectors = layout.round_to_dtypes(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
  labels = [f"random direction {j % num_directions}" for j in range(len(vectors))]
  return _Directions(None, vectors, leaf, labels, checked)


def _check_like_params(tree, layout) -> str:
  """The lowest-precision dtype of `tree`, after checking it has the parameters' structure."""
  if jax.tree.structure(tree) != layout.treedef:
    raise ValueError(f"gradcheck: grad_fn returned a tree of structure {jax.tree.structure(tree)}"
                     f", but params have structure {layout.treedef}")
  leaves = layout.treedef.flatten_up_to(tree)
  for path, leaf, shape in zip(layout.paths, leaves, layout.shapes):
    if tuple(leaf.shape) != shape:
      raise ValueError(f"gradcheck: grad_fn's leaf {path} has shape {tuple(leaf.shape)}, "
                       f"expected {shape}")
  return max((np.dtype(leaf.dtype) for leaf in leaves), key=lambda d: jnp.finfo(d).eps).name


def _map(f, values: np.ndarray, n: int, *args):
  """[f(*args, v) for v in values] as one jitted program: vmapped in chunks of at most
  BATCH_ENTRIES / n perturbed parameter vectors, padded to whole chunks (one body to compile)."""
  count = len(values)
  batch = min(int(np.clip(BATCH_ENTRIES // max(n, 1), 1, 128)), count)
  padded = np.concatenate([values, np.repeat(values[:1], -count % batch, axis=0)])
  mapped = jax.jit(lambda args, v: jax.lax.map(lambda x: f(*args, x), v, batch_size=batch))
  return jax.tree.map(lambda x: x[:count], mapped(args, padded))


def _warn_unless_float64(dtype, what: str):
  if dtype != jnp.float64:
    warnings.warn(f"gradcheck: {what} returned {dtype} on float64 parameters, so the numeric "
                  "derivatives are only as precise as that; let it compute in its inputs' dtype",
                  stacklevel=3)


def _first_differences(fun, layout, w64, directions, eps):
  """(f(w + eps d) - f(w - eps d)) / (2 eps) for every direction, and the largest |f|, in
  float64."""
  def value(w):
    return fun(layout.unravel64(w))

  def difference(w, direction):
    plus, minus = value(directions.moved(w, direction, eps)), value(
        directions.moved(w, direction, -eps))
    return (plus - minus) / (2 * eps), jnp.maximum(jnp.abs(plus), jnp.abs(minus))

  with jax.enable_x64(True):
    w = jnp.asarray(w64, jnp.float64)
    _warn_unless_float64(jax.eval_shape(value, w).dtype, "fun")
    numeric, scale = _map(difference, directions.values, w.size, w)
    return np.asarray(numeric, np.float64), float(jnp.max(scale))


def _hessian_vector_products(grad_fn, params, layout, directions):
  """jvp(grad_fn, params, d) for every direction at the parameters' own dtype, as float64."""
  flat, unravel = ravel_pytree(params)

  def product(direction):
    if directions.indices is not None:
      tangent = jnp.zeros_like(flat).at[direction].set(1)
    else:
      tangent = direction.astype(flat.dtype)
    return ravel_pytree(jax.jvp(grad_fn, (params,), (unravel(tangent),))[1])[0]

  dtype = _check_like_params(jax.eval_shape(grad_fn, params), layout)
  values = directions.values
  if directions.vectors is not None:
    values = values.astype(flat.dtype)
  return np.asarray(_map(product, values, flat.size), np.float64), dtype


def _second_differences(grad_fn, layout, w64, directions, eps):
  """(g(w + eps d) - g(w - eps d)) / (2 eps), g = grad_fn in float64, and the largest |g_i|."""
  def gradient(w):
    return layout.ravel64(grad_fn(layout.unravel64(w)))

  def difference(w, direction):
    plus, minus = gradient(directions.moved(w, direction, eps)), gradient(
        directions.moved(w, direction, -eps))
    return (plus - minus) / (2 * eps), jnp.maximum(jnp.abs(plus).max(), jnp.abs(minus).max())

  with jax.enable_x64(True):
    w = jnp.asarray(w64, jnp.float64)
    shapes = jax.eval_shape(lambda w: grad_fn(layout.unravel64(w)), w)
    for leaf in jax.tree.leaves(shapes):
      _warn_unless_float64(leaf.dtype, "grad_fn")
    numeric, scale = _map(difference, directions.values, w.size, w)
    return np.asarray(numeric, np.float64), float(jnp.max(scale))


def _first_order_entries(layout, directions):
  """Leaf of each compared number, and `locate(entry) -> (index in leaf, direction label)`."""
  if directions.indices is not None:
    return directions.leaf, lambda e: (layout.index_in_leaf(directions.indices[e]), "")
  return directions.leaf, lambda e: ((), directions.labels[e])


def _second_order_entries(layout, directions):
  """The same for H d flattened as [direction, output]: the output's leaf and index."""
  n = layout.size
  leaf = np.tile(layout.leaf_of(np.arange(n)), len(directions.values))
  return leaf, lambda e: (layout.index_in_leaf(e % n), directions.labels[e // n])


def _report(layout, analytic, numeric, entry_leaf, locate, *, dtype, order, checked, eps, rtol,
            atol, noise) -> GradcheckReport:
  """One row per checked leaf: its worst entry by |a - n| / max(|a|, |n|, atol / rtol)."""
  default_rtol, atol_fraction = TOLERANCES.get(dtype, TOLERANCES["float32"])
  rtol = default_rtol if rtol is None else rtol
  magnitude = np.maximum(np.abs(analytic), np.abs(numeric))
  rows = []
  for leaf in np.unique(entry_leaf):
    entries = np.flatnonzero(entry_leaf == leaf)
    finite = magnitude[entries][np.isfinite(magnitude[entries])]
    leaf_atol = atol if atol is not None else (
        atol_fraction * (finite.max() if finite.size else 0.0) + noise)
    floor = max(leaf_atol / rtol, np.finfo(np.float64).tiny)
    errors = np.abs(analytic[entries] - numeric[entries]) / np.maximum(magnitude[entries], floor)
    errors = np.where(np.isnan(errors), np.inf, errors)
    worst = entries[int(np.argmax(errors))]
    rel_error = float(errors.max())
    rows.append(LeafCheck(layout.paths[leaf], layout.shapes[leaf], *locate(int(worst)),
                          float(analytic[worst]), float(numeric[worst]), rel_error,
                          float(leaf_atol), len(entries), rel_error <= rtol))
  max_rel_error = max(row.rel_error for row in rows)
  return GradcheckReport(all(row.ok for row in rows), max_rel_error, tuple(rows), order,
                         checked, dtype, eps, rtol, atol)
