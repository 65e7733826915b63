"""Convergence rates on quadratics f(w) = 1/2 w^T A w, in closed form and measured.

Every closed form is exact, in NumPy float64. The last axis of `eigenvalues` is the spectrum
(a number is a spectrum of one); hyperparameters broadcast against each other and against
the leading axes of `eigenvalues`, so one call draws a whole map:

  import numpy as np, jaxopt_lab
  from jaxopt_lab import theory
  eigenvalues = np.geomspace(0.01, 1, 1000)
  theory.momentum_optimal(eigenvalues)         # learning_rate 3.3058, beta 0.6694, rate 0.8182
  lr, beta = np.linspace(0, 4, 512), np.linspace(0, 1, 512)
  theory.momentum_rate(lr[:, None], beta[None, :], eigenvalues)   # [512, 512] spectral radii
  theory.linear_rate(jaxopt_lab.nesterov(0.5, 0.9), np.diag(eigenvalues[::100]))  # any linear step
  theory.measured_rate(0.9 ** np.arange(100))  # 0.9: the rate a run's errors show

A rate rho means |w_k - w*| ~ rho^k: the spectral radius of one step's iteration matrix. The
rate functions return the largest over the spectrum. Each method's rate, as a function of
x = lr * lambda, falls then rises (|1 - x| for gradient descent; for momentum and Nesterov
with beta in [0, 1) see `_momentum_radius` and `_nesterov_radius`), so the largest over a
spectrum sits at its smallest or largest eigenvalue: only the two extremes are evaluated, for
any number of eigenvalues (tests/test_theory.py checks this against every eigenvalue).
"""
import math
from typing import NamedTuple, Optional

import numpy as np

from jaxopt_lab._validation import Interval, check_int

from jaxopt_lab.theory.linear_rate import linear_rate

__all__ = [
    "Tuning", "condition_number", "gd_rate", "gd_optimal", "momentum_rate", "momentum_optimal",
    "momentum_band", "momentum_stability_limit", "critical_damping_beta", "nesterov_rate",
    "nesterov_standard", "nesterov_optimal", "newton_rate", "first_order_lower_bound",
    "sgd_stationary_variance", "sgd_expected_loss", "momentum_stationary_variance",
    "linear_rate", "measured_rate"]


class Tuning(NamedTuple):
  """A method's hyperparameters on a spectrum and the rate they give (beta = 0: no momentum)."""
  learning_rate: np.ndarray
  beta: np.ndarray
  rate: np.ndarray


def _array(x, call: str = "", name: str = "") -> np.ndarray:
  """`x` as a float64 array. For an argument named by `call` and `name`, a one-line ValueError
  unless every entry is a finite real number."""
  try:
    array = np.asarray(x, dtype=np.float64)
  except (TypeError, ValueError):
    shown = " ".join(repr(x).split())[:60]
    raise ValueError(f"{call}({name}=...): {name} must be real numbers (a number or an array), "
                     f"got {shown}") from None
  if name and not np.isfinite(array).all():
    raise ValueError(f"{call}({name}=...): {name} must be finite, "
                     f"got {array[~np.isfinite(array)].flat[0]}")
  return array


def _nonnegative(call: str, **named) -> list:
  """Each named argument as a float64 array, checked finite and >= 0 (noise levels)."""
  arrays = []
  for name, x in named.items():
    array = _array(x, call, name)
    if (array < 0).any():
      raise ValueError(f"{call}({name}=...): {name} must be in [0, inf), got {array.min():g}")
    arrays.append(array)
  return arrays


def _scalar_or_array(x: np.ndarray):
  return x[()] if x.ndim == 0 else x


def _extremes(call: str, eigenvalues, positive: bool = False):
  """Smallest and largest eigenvalue over the last axis (a number is a spectrum of one)."""
  spectrum = np.atleast_1d(_array(eigenvalues, call, "eigenvalues"))
  if spectrum.shape[-1] == 0:
    raise ValueError(f"{call}(eigenvalues=[]): eigenvalues must be a non-empty spectrum, "
                     "got an empty one")
  low, high = spectrum.min(-1), spectrum.max(-1)
  if positive and (low <= 0).any():
    raise ValueError(f"{call}(eigenvalues=...): eigenvalues must be in (0, inf) (a strongly "
                     f"convex quadratic), got smallest {low.min():g}")
  return low, high


def condition_number(eigenvalues, call: str = "condition_number") -> np.ndarray:
  """kappa = lambda_max / lambda_min over the last axis (`call`: the function to name in an
  error)."""
  low, high = _extremes(call, eigenvalues, positive=True)
  return _scalar_or_array(high / low)


def _radius_2x2(trace, det, xp=np):
  """Spectral radius of a real 2x2 matrix from its trace T and determinant D.

  The eigenvalues solve sigma^2 - T sigma + D = 0. Real roots (T^2 >= 4D) have the larger
  modulus (|T| + sqrt(T^2 - 4D)) / 2, computed without cancellation; complex roots have
  modulus sqrt(D). `xp` is numpy or jax.numpy (the benchmark's fused kernel uses the latter).
  """
  discriminant = trace * trace - 4 * det
  real = (xp.abs(trace) + _safe_sqrt(discriminant, xp)) / 2
  return xp.where(discriminant >= 0, real, _safe_sqrt(det, xp))


def _safe_sqrt(x, xp=np):
  """sqrt(max(x, 0)) with derivative 0, not inf, at x <= 0 (for the jax.numpy kernel)."""
  positive = x > 0
  return xp.where(positive, xp.sqrt(xp.where(positive, x, 1.0)), 0.0)


def _momentum_radius(x, beta, xp=np):
  """Heavy ball at x = lr * lambda: [[beta, lambda], [-lr beta, 1 - x]] has T = 1 + beta - x,
  D = beta.

  Real roots below the complex band shrink as x grows, the band has |sigma| = sqrt(beta), real
  negative roots above it grow with x: the radius falls, stays, then rises.
  """
  return _radius_2x2(1 + beta - x, beta + 0 * x, xp)


def _nesterov_radius(x, beta, xp=np):
  """Nesterov at x = lr * lambda: T = (1 + beta)(1 - x), D = beta (1 - x) (see `nesterov_rate`).

  The radius falls on x <= 1 (to 0 at x = 1) and rises beyond.
  """
  return _radius_2x2((1 + beta) * (1 - x), beta * (1 - x), xp)


def _largest_over_spectrum(radius, call, learning_rate, eigenvalues, *hyperparameters):
  low, high = _extremes(call, eigenvalues)
  learning_rate = _array(learning_rate, call, "learning_rate")
  hyperparameters = [_array(h, call, "beta") for h in hyperparameters]
  rate = np.maximum(radius(learning_rate * low, *hyperparameters),
                    radius(learning_rate * high, *hyperparameters))
  return _scalar_or_array(rate)


def gd_rate(learning_rate, eigenvalues) -> np.ndarray:
  """Gradient descent, w <- (I - lr A) w: rate = max_i |1 - lr lambda_i|."""
  return _largest_over_spectrum(lambda x: np.abs(1 - x), "gd_rate", learning_rate, eigenvalues)


def gd_optimal(eigenvalues) -> Tuning:
  """lr* = 2 / (lambda_min + lambda_max), rate (kappa - 1) / (kappa + 1)."""
  low, high = _extremes("gd_optimal", eigenvalues, positive=True)
  kappa = high / low
  return Tuning(*map(_scalar_or_array, (2 / (low + high), 0 * low, (kappa - 1) / (kappa + 1))))


def momentum_rate(learning_rate, beta, eigenvalues) -> np.ndarray:
  """Heavy ball, v <- beta v + g; w <- w - lr v: the largest spectral radius over the spectrum
  of the per-eigenvalue iteration matrix acting on (v, w),

    M = [[beta, lambda], [-lr beta, 1 - lr lambda]],
    sigma^2 - (1 + beta - lr lambda) sigma + beta = 0.

  It converges for 0 < lr lambda < 2 (1 + beta) (`momentum_stability_limit`), with complex
  roots of modulus sqrt(beta) inside `momentum_band`, repeated roots on its edges.
  """
  return _largest_over_spectrum(_momentum_radius, "momentum_rate", learning_rate, eigenvalues,
                                beta)


def momentum_optimal(eigenvalues) -> Tuning:
  """Polyak (1964); Goh, "Why Momentum Really Works" (Distill 2017):

    lr* = (2 / (sqrt(lambda_min) + sqrt(lambda_max)))^2,
    beta* = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2,
    rate = (sqrt(kappa) - 1) / (sqrt(kappa) + 1)   (every eigenvalue in the complex band).
  """
  low, high = _extremes("momentum_optimal", eigenvalues, positive=True)
  root = np.sqrt(high / low)
  rate = (root - 1) / (root + 1)
  return Tuning(*map(_scalar_or_array, ((2 / (np.sqrt(low) + np.sqrt(high))) ** 2, rate ** 2,
                                        rate)))


def momentum_band(beta) -> tuple[np.ndarray, np.ndarray]:
  """(1 - sqrt(beta))^2 < lr lambda < (1 + sqrt(beta))^2: complex roots, |sigma| = sqrt(beta)."""
  root = np.sqrt(_nonnegative("momentum_band", beta=beta)[0])
  return _scalar_or_array((1 - root) ** 2), _scalar_or_array((1 + root) ** 2)


def momentum_stability_limit(beta) -> np.ndarray:
  """Heavy ball converges iff 0 < lr lambda < 2 (1 + beta)."""
  return _scalar_or_array(2 * (1 + _array(beta, "momentum_stability_limit", "beta")))


def critical_damping_beta(scaled_step) -> np.ndarray:
  """beta = (1 - sqrt(lr lambda))^2: the repeated root, the fastest beta for this lr lambda.

  Solved for lr lambda it gives both edges of `momentum_band`.
  """
  scaled_step, = _nonnegative("critical_damping_beta", scaled_step=scaled_step)
  return _scalar_or_array((1 - np.sqrt(scaled_step)) ** 2)


def nesterov_rate(learning_rate, beta, eigenvalues) -> np.ndarray:
  """Nesterov as `jaxopt_lab.nesterov` (Sutskever et al. 2013): v <- beta v + g;
  w <- w - lr (g + beta v). On an eigendirection with g = lambda w, (v, w) evolves by

    M = [[beta, lambda], [-lr beta^2, 1 - lr lambda (1 + beta)]],
    sigma^2 - (1 + beta)(1 - lr lambda) sigma + beta (1 - lr lambda) = 0,

  the polynomial of Nesterov's y <- w + beta (w - w_prev); w <- y - lr grad(y). Returns the
  largest spectral radius over the spectrum.
  """
  return _largest_over_spectrum(_nesterov_radius, "nesterov_rate", learning_rate, eigenvalues,
                                beta)


def nesterov_standard(eigenvalues) -> Tuning:
  """The textbook tuning lr = 1 / lambda_max, beta = (sqrt(kappa) - 1) / (sqrt(kappa) + 1):
  rate 1 - 1 / sqrt(kappa) (lambda_min's roots are then repeated)."""
  low, high = _extremes("nesterov_standard", eigenvalues, positive=True)
  root = np.sqrt(high / low)
  return Tuning(*map(_scalar_or_array, (1 / high, (root - 1) / (root + 1), 1 - 1 / root)))


def nesterov_optimal(eigenvalues) -> Tuning:
  """Lessard, Recht & Packard (2016): the fastest Nesterov tuning on quadratics,

    lr = 4 / (3 lambda_max + lambda_min),  beta = (s - 2) / (s + 2),  rate 1 - 2 / s,
    s = sqrt(3 kappa + 1).
  """
  low, high = _extremes("nesterov_optimal", eigenvalues, positive=True)
  s = np.sqrt(3 * high / low + 1)
  return Tuning(*map(_scalar_or_array, (4 / (3 * high + low), (s - 2) / (s + 2), 1 - 2 / s)))


def newton_rate(learning_rate) -> np.ndarray:
  """Newton, w <- w - lr A^-1 grad f = (1 - lr) w: rate |1 - lr| for any spectrum (0 at lr = 1:
  one step)."""
  return _scalar_or_array(np.abs(1 - _array(learning_rate, "newton_rate", "learning_rate")))


def first_order_lower_bound(eigenvalues) -> np.ndarray:
  """(sqrt(kappa) - 1) / (sqrt(kappa) + 1): no method whose iterates lie in the span of past
  gradients beats it on every quadratic with this spectrum's extremes (Nesterov 1983).
  Heavy ball at `momentum_optimal` attains it."""
  root = np.sqrt(condition_number(eigenvalues, "first_order_lower_bound"))
  return _scalar_or_array((root - 1) / (root + 1))


def _per_direction(*hyperparameters):
  """Hyperparameters with a new last axis, to meet each eigenvalue of the spectrum axis."""
  return [h[..., None] for h in hyperparameters]


def _stationary(numerator, denominator, noise):
  """numerator / denominator where the recursion is stable (both > 0), 0 where no noise enters
  (lr sigma = 0), and inf where the variance grows without bound (a random walk at lr lambda
  = 0 or at the edge of stability, divergence beyond): never a negative variance, nor 0/0."""
  stable = (numerator > 0) & (denominator > 0)
  with np.errstate(divide="ignore", invalid="ignore"):
    ratio = numerator / np.where(stable, denominator, 1.0)
  return np.where(noise == 0, 0.0, np.where(stable, ratio, np.inf))


def sgd_stationary_variance(learning_rate, eigenvalues, noise_std) -> np.ndarray:
  """Gradient descent on g = A w + xi, xi ~ N(0, noise_std^2 I): along eigendirection i,
  w <- (1 - lr lambda_i) w - lr xi reaches Var w_i = lr sigma^2 / (lambda_i (2 - lr lambda_i))
  for 0 < lr lambda_i < 2; inf outside (no stationary distribution), 0 when lr sigma = 0.

  One value per eigenvalue (the last axis); the stationary loss is 1/2 sum_i lambda_i Var w_i.
  """
  call = "sgd_stationary_variance"
  learning_rate, noise_std = _per_direction(
      *_nonnegative(call, learning_rate=learning_rate, noise_std=noise_std))
  eigenvalues = np.atleast_1d(_array(eigenvalues, call, "eigenvalues"))
  return _stationary(learning_rate * noise_std ** 2,
                     eigenvalues * (2 - learning_rate * eigenvalues), learning_rate * noise_std)


def sgd_expected_loss(learning_rate, eigenvalues, noise_std, initial_error,
                      steps: int) -> np.ndarray:
  """E f(w_k) for k = 0..steps (a new last axis) of gradient descent with gradient noise as
  in `sgd_stationary_variance`, from the recursion along each eigendirection

    E w_{k+1}^2 = r^2 E w_k^2 + lr^2 sigma^2,  r = 1 - lr lambda,
    E f_k = 1/2 sum_i lambda_i E w_{k,i}^2,

  summed in closed form: E w_k^2 = r^{2k} w_0^2 + lr^2 sigma^2 (1 - r^{2k}) / (1 - r^2).
  `initial_error` holds w_0 - w* in the eigenbasis (it broadcasts against `eigenvalues`).
  A divergent run (|r| > 1) reaches inf, as its expected loss does.
  """
  call = "sgd_expected_loss"
  check_int(call, steps=(steps, Interval(0, math.inf)))
  learning_rate, noise_std = _per_direction(
      *_nonnegative(call, learning_rate=learning_rate, noise_std=noise_std))
  eigenvalues = np.atleast_1d(_array(eigenvalues, call, "eigenvalues"))
  initial_error = _array(initial_error, call, "initial_error")
  factor = ((1 - learning_rate * eigenvalues) ** 2)[..., None, :]  # on E w^2, per step
  k = np.arange(int(steps) + 1.0)[:, None]
  with np.errstate(over="ignore", invalid="ignore"):
    shrink = factor ** k
    flat = factor == 1  # lr lambda in {0, 2}: the noise piles up linearly
    steps_of_noise = np.where(flat, k, (1 - shrink) / np.where(flat, 1.0, 1 - factor))
    second_moment = (shrink * initial_error ** 2
                     + (learning_rate * noise_std)[..., None, :] ** 2 * steps_of_noise)
    return 0.5 * np.sum(eigenvalues * second_moment, axis=-1)


def momentum_stationary_variance(learning_rate, beta, eigenvalues, noise_std) -> np.ndarray:
  """Heavy ball on g = A w + xi (as `sgd_stationary_variance`): w follows the AR(2) recursion
  w <- (1 + beta - lr lambda) w - beta w_prev - lr xi, whose stationary variance is

    Var w_i = (1 + beta) lr sigma^2 / ((1 - beta) lambda_i (2 (1 + beta) - lr lambda_i))

  where it is stable (|beta| < 1, 0 < lr lambda_i < 2 (1 + beta)); inf outside, 0 when
  lr sigma = 0. One value per eigenvalue (the last axis).
  """
  call = "momentum_stationary_variance"
  learning_rate, noise_std = _per_direction(
      *_nonnegative(call, learning_rate=learning_rate, noise_std=noise_std))
  beta, = _per_direction(_array(beta, call, "beta"))
  eigenvalues = np.atleast_1d(_array(eigenvalues, call, "eigenvalues"))
  denominator = (1 - beta) * eigenvalues * (2 * (1 + beta) - learning_rate * eigenvalues)
  return _stationary((1 + beta) * learning_rate * noise_std ** 2,
                     np.where(np.abs(beta) < 1, denominator, -1.0), learning_rate * noise_std)


def measured_rate(errors, floor: Optional[float] = None,
                  minimizer_norm: Optional[float] = None) -> float:
  """The asymptotic rate rho of a run's errors e_k ~ C k^p rho^k (p > 0 for repeated roots).

  `errors` is any nonnegative sequence, e.g. |w_k - w*| (f - f* decays at rho^2), in the dtype
  the run computed it in. The run is cut where it falls to its noise floor for the last time
  (or at a non-finite value), so no error at or below the floor is fitted. The floor is
  `floor` if given, else the larger of

    1000 eps |w*|     rounding: w_k lands on the grid of floats around w*; |w*| is
                      `minimizer_norm` (0 when w* = 0), by default the largest error
    1000 sqrt(tiny)   a norm squares its entries, which underflow (flush to 0 on CPU) below
                      sqrt(tiny): 1.1e-19 in float32, so |w| itself is exact only well above

  with eps and tiny those of the errors' dtype (float64 for integers). On the last 3/4 of
  what is left, log of the upper envelope (the largest error from k on; from 0 to k for a
  growing run), which rides over the oscillations of complex roots, is fitted by least squares
  to c + p log k + k log rho; p is rounded to the nearest integer >= 0 and log rho refitted.
  Needs at least 8 errors above the floor for a rough estimate, about 50 for 1%.
  """
  values = np.asarray(errors)
  if values.dtype.kind not in "biuf":
    raise ValueError(f"measured_rate(errors=...): errors must be real numbers, got dtype "
                     f"{values.dtype}")
  info = np.finfo(values.dtype if values.dtype.kind == "f" else np.float64)
  values = values.astype(np.float64).ravel()
  if (values < 0).any():
    raise ValueError("measured_rate(errors=...): errors must be in [0, inf), e.g. |w_k - w*|, "
                     f"got {values.min():g}")
  for name, given in (("floor", floor), ("minimizer_norm", minimizer_norm)):
    if given is not None and not (np.isfinite(given) and given >= 0):
      raise ValueError(f"measured_rate({name}={given!r}): {name} must be in [0, inf), "
                       f"got {given!r}")
  finite = np.isfinite(values)
  values = values[:len(values) if finite.all() else int(np.argmin(finite))]
  scale = values.max(initial=0.0) if minimizer_norm is None else minimizer_norm
  threshold = (max(1000 * float(info.eps) * scale, 1000 * np.sqrt(float(info.tiny)))
               if floor is None else floor)
  above = np.nonzero(values > threshold)[0]
  count = above[-1] + 1 if above.size else 0
  if count < 8:
    raise ValueError(f"measured_rate: only {count} errors lie above the noise floor "
                     f"{threshold:.3g} before it is reached (at least 8 are needed): the run "
                     "converged too fast, diverged at once, or is too short")
  values = values[:count]
  k = np.arange(1.0, count + 1)
  tail = slice(count // 4, count)
  log_values = np.log(np.maximum(values, max(threshold, np.finfo(np.float64).tiny)))
  growing = np.polyfit(k[tail], log_values[tail], 1)[0] > 0
  envelope = (np.maximum.accumulate(values) if growing
              else np.maximum.accumulate(values[::-1])[::-1])
  y, k = np.log(envelope[tail]), k[tail]
  design = np.stack([np.ones_like(k), k, np.log(k)], axis=1)
  power = max(0, round(float(np.linalg.lstsq(design, y, rcond=None)[0][2])))
  return float(np.exp(np.polyfit(k, y - power * np.log(k), 1)[0]))
