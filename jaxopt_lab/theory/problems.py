"""Test functions for optimizers: quadratics with chosen spectra, Rosenbrock, a saddle.

Each is a `Problem`: a loss on a flat parameter vector, the usual start and the minimizer.
"""
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np


class Problem(NamedTuple):
  name: str
  loss: Callable[[jax.Array], jax.Array]
  start: np.ndarray
  minimizer: np.ndarray
  minimum: float
  hessian: Optional[np.ndarray] = None  # constant Hessian of a quadratic, None otherwise


def quadratic(eigenvalues, rotation_seed: Optional[int] = None, start=None,
              name: str = "quadratic") -> Problem:
  """f(w) = 1/2 w^T H w, H = Q diag(eigenvalues) Q^T; Q is random orthogonal when a seed is
  given (so the problem is not axis-aligned) and the identity otherwise. Minimum 0 at w = 0."""
  eigenvalues = _vector("eigenvalues", eigenvalues)
  n = eigenvalues.size
  if not n:
    raise ValueError("quadratic(eigenvalues=[]): eigenvalues must be a non-empty spectrum, "
                     "got an empty one")
  if rotation_seed is None:
    rotation = np.eye(n)
  else:
    rotation, _ = np.linalg.qr(np.random.default_rng(rotation_seed).normal(size=(n, n)))
  hessian = rotation @ np.diag(eigenvalues) @ rotation.T
  start = np.ones(n) if start is None else _vector("start", start)
  if start.shape != (n,):
    raise ValueError(f"quadratic(start=...): start must be of shape ({n},) (one entry per "
                     f"eigenvalue), got shape {start.shape}")

  def loss(w):
    h = jnp.asarray(hessian, w.dtype)
    return 0.5 * w @ h @ w

  return Problem(name, loss, start, np.zeros(n), 0.0, hessian)


def _vector(name: str, values) -> np.ndarray:
  """`values` as a 1-D float64 array of finite numbers, or a one-line ValueError."""
  try:
    vector = np.asarray(values, np.float64)
  except (TypeError, ValueError):
    raise ValueError(f"quadratic({name}=...): {name} must be real numbers, got "
                     f"{type(values).__name__}") from None
  if vector.ndim != 1 or not np.isfinite(vector).all():
    raise ValueError(f"quadratic({name}=...): {name} must be a 1-D array of finite numbers, "
                     f"got shape {vector.shape}" + ("" if np.isfinite(vector).all() else
                                                    " with a non-finite entry"))
  return vector


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Problem:
  """f(x, y) = (a - x)^2 + b (y - x^2)^2: a curved valley; minimum 0 at (a, a^2)."""

  def loss(w):
    x, y = w[0], w[1]
    return (a - x) ** 2 + b * (y - x ** 2) ** 2

  return Problem("rosenbrock", loss, np.array([-1.2, 1.0]), np.array([a, a * a]), 0.0)


def saddle() -> Problem:
  """f(x, y) = x^2 + y^4/4 - y^2: a saddle at the origin between minima at (0, +-sqrt 2), f = -1.

  The start sits almost on the ridge (y = 1e-3), so the gradient first points at the saddle
  and optimizers differ in how fast they escape it.
  """

  def loss(w):
    x, y = w[0], w[1]
    return x ** 2 + y ** 4 / 4 - y ** 2

  return Problem("saddle", loss, np.array([1.0, 1e-3]), np.array([0.0, np.sqrt(2.0)]), -1.0)
