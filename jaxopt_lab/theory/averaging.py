"""Iterate averaging under gradient noise, in closed form: what averaging the iterates of SGD
buys on a quadratic (see `jaxopt_lab.polyak_averaging`, `ema_averaging`).

Gradient descent on g = A w + xi, xi ~ N(0, sigma^2 I), along eigendirection i is the AR(1)
process w <- r w - lr xi, r = 1 - lr lambda_i, stationary with variance
s^2 = lr sigma^2 / (lambda_i (2 - lr lambda_i)) (`sgd_stationary_variance`) and correlation
r^k at lag k. Its noise floor, E f = 1/2 sum_i lambda_i s^2, does not shrink with time; the
averages of its iterates do (NumPy float64; one value per eigenvalue on the last axis).

  theory.polyak_average_variance(0.5, [0.2, 1.0], 0.1, 1000)   # -> sigma^2 / (lambda^2 n)
  theory.ema_stationary_variance(0.5, 0.99, [0.2, 1.0], 0.1)
"""
import numpy as np

from jaxopt_lab.theory.rates import sgd_stationary_variance

__all__ = ["polyak_average_variance", "ema_stationary_variance"]


def _per_direction(learning_rate, eigenvalues):
  eigenvalues = np.atleast_1d(np.asarray(eigenvalues, np.float64))
  return np.asarray(learning_rate, np.float64)[..., None], eigenvalues


def polyak_average_variance(learning_rate, eigenvalues, noise_std, n) -> np.ndarray:
  """Var of the mean of n consecutive stationary SGD iterates, per eigendirection:

    s^2 / n [1 + 2 sum_{k=1}^{n-1} (1 - k/n) r^k]
      = s^2 / n [(1 + r) / (1 - r) - 2 r (1 - r^n) / (n (1 - r)^2)]

  which tends to sigma^2 / (lambda^2 n) for large n, whatever the learning rate: the rate of
  Polyak & Juditsky (1992), 1/n, where the last iterate's variance stays at s^2. `n` may be
  an array (broadcast against the learning rate's leading axes, before the spectrum axis).
  """
  learning_rate, eigenvalues = _per_direction(learning_rate, eigenvalues)
  n = np.asarray(n, np.float64)[..., None]
  stationary = sgd_stationary_variance(learning_rate[..., 0], eigenvalues, noise_std)
  r = 1 - learning_rate * eigenvalues
  sum_of_correlations = (1 + r) / (1 - r) - 2 * r * (1 - r ** n) / (n * (1 - r) ** 2)
  return stationary * sum_of_correlations / n


def ema_stationary_variance(learning_rate, decay, eigenvalues, noise_std) -> np.ndarray:
  """Stationary Var of a <- decay a + (1 - decay) w over SGD's iterates, per eigendirection:

    s^2 (1 - decay)(1 + decay r) / ((1 + decay)(1 - decay r))

  (the double sum of (1 - decay)^2 decay^(j+k) r^|j-k|): the floor shrinks by that factor, to
  about s^2 (1 - decay) / (1 - r) for decay near 1; it does not vanish.
  """
  learning_rate, eigenvalues = _per_direction(learning_rate, eigenvalues)
  decay = np.asarray(decay, np.float64)[..., None]
  stationary = sgd_stationary_variance(learning_rate[..., 0], eigenvalues, noise_std)
  r = 1 - learning_rate * eigenvalues
  return stationary * (1 - decay) * (1 + decay * r) / ((1 + decay) * (1 - decay * r))
