"""jaxopt_lab.theory: closed forms against iteration-matrix eigenvalues and Lyapunov solutions
(NumPy/SciPy float64), the Distill values, linear_rate of real optimizers against the closed
forms, and measured_rate of real runs against theory."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg

import jaxopt_lab as jl
from helpers import run
from jaxopt_lab import theory
from jaxopt_lab.theory.problems import quadratic
from optimizer_table import TABLE

EIGENVALUES = np.array([0.05, 0.3, 1.0, 2.0])
ROTATED = quadratic(EIGENVALUES, rotation_seed=1)  # a non-diagonal Hessian


def heavy_ball_matrix(alpha, beta, eigenvalue):
  """(v, w) <- M (v, w) for v <- beta v + lambda w; w <- w - alpha v."""
  return np.array([[beta, eigenvalue], [-alpha * beta, 1 - alpha * eigenvalue]])


def nesterov_matrix(alpha, beta, eigenvalue):
  """(v, w) <- M (v, w) for v <- beta v + lambda w; w <- w - alpha (lambda w + beta v)."""
  return np.array([[beta, eigenvalue],
                   [-alpha * beta ** 2, 1 - alpha * eigenvalue * (1 + beta)]])


def spectral_radius(matrix):
  return np.abs(np.linalg.eigvals(matrix)).max()


def random_cases(count=400, seed=0):
  """alpha lambda over [0, 5) and beta over [0, 1), plus cases on the edges of the complex
  band (repeated roots), where a closed form is most fragile."""
  rng = np.random.default_rng(seed)
  alpha, beta, eigenvalue = rng.uniform(0, 2.5, count), rng.uniform(0, 1, count), \
      rng.uniform(0.01, 2, count)
  edge_beta = rng.uniform(0, 1, 100)
  edge_x = np.concatenate([(1 - np.sqrt(edge_beta[:50])) ** 2, (1 + np.sqrt(edge_beta[50:])) ** 2])
  return (np.concatenate([alpha, edge_x]), np.concatenate([beta, edge_beta]),
          np.concatenate([eigenvalue, np.ones(100)]))


@pytest.mark.parametrize("rate, matrix", [(theory.momentum_rate, heavy_ball_matrix),
                                          (theory.nesterov_rate, nesterov_matrix)])
def test_closed_forms_match_iteration_matrix_eigenvalues(rate, matrix):
  alpha, beta, eigenvalue = random_cases()
  expected = [spectral_radius(matrix(a, b, e)) for a, b, e in zip(alpha, beta, eigenvalue)]
  # one eigenvalue per case: a spectrum axis of length one
  np.testing.assert_allclose(rate(alpha, beta, eigenvalue[:, None]), expected, atol=1e-6)


def test_gd_rate_is_the_largest_factor():
  rng = np.random.default_rng(1)
  spectra, rates = rng.uniform(0.01, 3, (200, 7)), rng.uniform(0, 1.5, 200)
  expected = np.abs(1 - rates[:, None] * spectra).max(1)
  np.testing.assert_allclose(theory.gd_rate(rates, spectra), expected, rtol=1e-15)


@pytest.mark.parametrize("rate", [theory.momentum_rate, theory.nesterov_rate])
def test_extremes_of_the_spectrum_decide_the_rate(rate):
  """The closed forms evaluate only the smallest and largest eigenvalue; the largest radius
  over every eigenvalue must agree (the radius falls, then rises, in lr lambda)."""
  rng = np.random.default_rng(2)
  spectra = rng.uniform(0.01, 2, (300, 50))
  alpha, beta = rng.uniform(0, 2.5, 300), rng.uniform(0, 1, 300)
  every = rate(alpha[:, None], beta[:, None], spectra[..., None]).max(1)
  np.testing.assert_allclose(rate(alpha, beta, spectra), every, rtol=1e-14)


def test_rates_broadcast_over_hyperparameter_grids():
  rates, betas = np.linspace(0, 4, 7), np.linspace(0, 0.9, 5)
  grid = theory.momentum_rate(rates[:, None], betas[None, :], np.geomspace(0.01, 1, 1000))
  assert grid.shape == (7, 5)
  assert theory.momentum_rate(rates[3], betas[2], [0.01, 1.0]) == grid[3, 2]
  assert isinstance(theory.gd_rate(0.1, [1.0, 2.0]), float)
  assert theory.nesterov_rate(jnp.ones(3), 0.5, jnp.ones((4, 1, 2))).shape == (4, 3)
  assert theory.gd_optimal(np.stack([np.ones(6), np.arange(1, 7.0)], -1)).rate.shape == (6,)


def test_distill_values():
  """Goh (2017): eigenvalues 0.01, 0.1, 1."""
  gd = theory.gd_optimal([0.01, 0.1, 1.0])
  assert gd.learning_rate == pytest.approx(200 / 101, rel=1e-15)
  assert gd.rate == pytest.approx(99 / 101, rel=1e-15)
  heavy = theory.momentum_optimal([0.01, 0.1, 1.0])
  assert round(heavy.learning_rate, 4) == 3.3058 and round(heavy.beta, 4) == 0.6694
  assert heavy.rate == pytest.approx(9 / 11, rel=1e-15)


def test_tunings_reach_their_rates_and_none_beats_them_on_a_grid():
  spectrum = [0.1, 0.4, 2.5]  # kappa = 25
  gd, heavy = theory.gd_optimal(spectrum), theory.momentum_optimal(spectrum)
  standard, best = theory.nesterov_standard(spectrum), theory.nesterov_optimal(spectrum)
  assert theory.gd_rate(gd.learning_rate, spectrum) == pytest.approx(gd.rate, rel=1e-12)
  assert heavy.rate == pytest.approx(theory.momentum_rate(heavy.learning_rate, heavy.beta,
                                                          spectrum), rel=1e-7)
  for tuning in (standard, best):
    assert tuning.rate == pytest.approx(theory.nesterov_rate(tuning.learning_rate, tuning.beta,
                                                             spectrum), rel=1e-7)
  assert standard.rate == pytest.approx(1 - 1 / 5) and best.rate == pytest.approx(1 - 2 / 76 ** 0.5)
  assert theory.first_order_lower_bound(spectrum) == pytest.approx(heavy.rate, rel=1e-12)
  rates, betas = np.linspace(0, 1.6, 801), np.linspace(0, 0.999, 1000)
  assert theory.gd_rate(rates, spectrum).min() >= gd.rate - 1e-12
  assert theory.momentum_rate(rates[:, None], betas, spectrum).min() >= heavy.rate - 1e-9
  assert theory.nesterov_rate(rates[:, None], betas, spectrum).min() >= best.rate - 1e-9
  assert best.rate < standard.rate


def test_momentum_regions():
  beta = np.array([0.0, 0.25, 0.81])
  low, high = theory.momentum_band(beta)
  np.testing.assert_allclose(low, [1, 0.25, 0.01])
  np.testing.assert_allclose(high, [1, 2.25, 3.61])
  np.testing.assert_allclose(theory.critical_damping_beta(low), beta, atol=1e-15)
  limit = theory.momentum_stability_limit(beta)
  assert (theory.momentum_rate(limit * 0.999, beta, 1.0) < 1).all()
  assert (theory.momentum_rate(limit * 1.001, beta, 1.0) > 1).all()
  inside = (low + high) / 2  # complex roots: modulus sqrt(beta)
  np.testing.assert_allclose(theory.momentum_rate(inside[1:], beta[1:], 1.0), np.sqrt(beta[1:]))


def test_iteration_matrix_of_nesterov_is_the_real_step(x64):
  """Running jaxopt_lab.nesterov on f = lambda w^2 / 2 gives the iterates of nesterov_matrix."""
  alpha, beta, eigenvalue = 0.3, 0.7, 2.0
  path = run(jl.nesterov(alpha, beta), lambda w: 0.5 * eigenvalue * w @ w, np.ones(1), 12)[:, 0]
  state, expected = np.array([0.0, 1.0]), [1.0]
  for _ in range(12):
    state = nesterov_matrix(alpha, beta, eigenvalue) @ state
    expected.append(state[1])
  np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("hyper", [dict(learning_rate=0.4, beta=0.7),   # complex roots
                                   dict(learning_rate=0.05, beta=0.2),  # real roots
                                   dict(learning_rate=1.7, beta=0.3)])  # diverges
def test_linear_rate_equals_closed_forms_on_a_rotated_hessian(hyper):
  h = ROTATED.hessian
  assert theory.linear_rate(jl.sgd(hyper["learning_rate"]), h) == pytest.approx(
      theory.gd_rate(hyper["learning_rate"], EIGENVALUES), rel=1e-10)
  assert theory.linear_rate(jl.momentum(**hyper), h) == pytest.approx(
      theory.momentum_rate(hyper["learning_rate"], hyper["beta"], EIGENVALUES), rel=1e-7)
  assert theory.linear_rate(jl.nesterov(**hyper), h) == pytest.approx(
      theory.nesterov_rate(hyper["learning_rate"], hyper["beta"], EIGENVALUES), rel=1e-7)


def test_linear_rate_of_chains():
  h, lr, beta, decay = ROTATED.hessian, 0.3, 0.6, 0.1
  clipped = jl.chain(jl.clip_by_global_norm(1e6), jl.momentum(lr, beta))  # never clips here
  assert theory.linear_rate(clipped, h) == pytest.approx(
      theory.momentum_rate(lr, beta, EIGENVALUES), rel=1e-7)
  # weight decay shifts the spectrum by the decay (coupled, before the momentum buffer)
  coupled = jl.chain(jl.add_decayed_weights(decay), jl.momentum(lr, beta))
  assert theory.linear_rate(coupled, h) == pytest.approx(
      theory.momentum_rate(lr, beta, EIGENVALUES + decay), rel=1e-7)
  decayed = jl.chain(jl.add_decayed_weights(decay), jl.sgd(lambda step: lr))  # a schedule
  assert theory.linear_rate(decayed, h) == pytest.approx(
      theory.gd_rate(lr, EIGENVALUES + decay), rel=1e-10)
  # optax's own, with its learning rate held as float state
  injected = optax.inject_hyperparams(optax.sgd)(learning_rate=lr)
  assert theory.linear_rate(injected, h) == pytest.approx(
      theory.gd_rate(lr, EIGENVALUES), rel=1e-6)


def test_linear_rate_of_newton():
  for lr in (0.5, 1.0, 1.5):
    assert theory.linear_rate(jl.newton(lr), ROTATED.hessian) == pytest.approx(
        theory.newton_rate(lr), abs=1e-10)


def idle_buffers():
  """State the parameters never reach or never read: a buffer nothing writes (eigenvalue 1),
  a float step count (eigenvalue 1) and an average of the parameters nothing reads (0.999)."""
  def init(params):
    return (jnp.zeros_like(params), jnp.zeros([], params.dtype), jnp.zeros_like(params))

  def update(updates, state, params=None):
    unused, count, average = state
    return updates, (unused, count + 1, 0.999 * average + 0.001 * params)

  return optax.GradientTransformation(init, update)


def test_linear_rate_ignores_state_the_parameters_do_not_excite_or_see():
  lr = 0.3
  expected = theory.gd_rate(lr, EIGENVALUES)
  assert theory.linear_rate(jl.chain(idle_buffers(), jl.sgd(lr)), ROTATED.hessian) == \
      pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("optimizer", [
    jl.adam(0.1), jl.adagrad(0.1), jl.rmsprop(0.01),
    jl.chain(jl.clip_by_global_norm(0.1), jl.sgd(0.1)),
    jl.sign_sgd(0.01),                                   # Jacobian 0 in the sign: superposition
    jl.sgd(jl.exponential_decay(0.1, 1, 0.99)),          # a rate that changes with the count
    jl.momentum(jl.warmup(jl.constant(0.1), 10), 0.9)],  # a warmup
    ids=["adam", "adagrad", "rmsprop", "clipping", "sign_sgd", "decaying", "warmup"])
def test_linear_rate_rejects_nonlinear_steps(optimizer):
  with pytest.raises(ValueError, match="not linear on a quadratic.*adaptive methods"):
    theory.linear_rate(optimizer, ROTATED.hessian)


@pytest.mark.parametrize("name", TABLE)
def test_linear_rate_answers_every_row_of_the_table(name):
  """A rate for the rows the table marks linear on a quadratic, one clear error for every
  other row: no optimizer gets a number that describes nothing (lion's and sign_sgd's steps
  have a zero Jacobian in their sign, so before the superposition check they got one)."""
  row = TABLE[name]
  optimizer, hessian = row.factory(**row.hyper), np.diag([0.5, 2.0])
  if row.linear_in_gradients:
    assert 0 < theory.linear_rate(optimizer, hessian) < 1
  else:
    with pytest.raises(ValueError, match="^linear_rate: the optimizer's step is not linear"):
      theory.linear_rate(optimizer, hessian)


def test_linear_rate_rejects_a_non_square_hessian():
  with pytest.raises(ValueError, match=r"square matrix, got shape \(2, 3\)"):
    theory.linear_rate(jl.sgd(0.1), np.ones((2, 3)))


def distances(optimizer, problem, steps=2000):
  return np.linalg.norm(run(optimizer, problem.loss, problem.start, steps), axis=1)


def critical(beta, eigenvalue):
  """The learning rate that gives heavy ball a repeated root on this eigenvalue."""
  return (1 - np.sqrt(beta)) ** 2 / eigenvalue


@pytest.mark.parametrize("name, optimizer, expected", [
    ("sgd", jl.sgd(0.4), theory.gd_rate(0.4, EIGENVALUES)),
    ("momentum, complex roots", jl.momentum(0.4, 0.7), theory.momentum_rate(0.4, 0.7, EIGENVALUES)),
    ("momentum, critically damped", jl.momentum(critical(0.6, 0.05), 0.6),
     theory.momentum_rate(critical(0.6, 0.05), 0.6, EIGENVALUES)),
    ("momentum at its optimum", jl.momentum(*theory.momentum_optimal(EIGENVALUES)[:2]),
     theory.momentum_optimal(EIGENVALUES).rate),
    ("nesterov", jl.nesterov(0.4, 0.7), theory.nesterov_rate(0.4, 0.7, EIGENVALUES)),
    ("nesterov, standard tuning", jl.nesterov(*theory.nesterov_standard(EIGENVALUES)[:2]),
     theory.nesterov_standard(EIGENVALUES).rate)])
def test_measured_rate_of_real_runs_is_within_one_percent(name, optimizer, expected, x64):
  measured = theory.measured_rate(distances(optimizer, ROTATED))
  assert measured == pytest.approx(expected, rel=0.01), name


def test_critical_damping_is_a_repeated_root():
  """The case measured_rate's k^p term exists for: errors ~ k rho^k; ignoring the k would be
  off by several percent on a run this short."""
  rho = 0.7
  k = np.arange(120)
  assert theory.measured_rate((1 + 3 * k) * rho ** k) == pytest.approx(rho, rel=2e-3)


def test_measured_rate_stops_at_the_noise_floor():
  """A float32 run towards w* = 3 stalls near 1e-7 relative: the default floor cuts it off."""
  shifted = lambda w: 0.5 * (w - 3.0) @ jnp.asarray(ROTATED.hessian, w.dtype) @ (w - 3.0)
  path = run(jl.momentum(0.4, 0.7), shifted, np.zeros(4, np.float32), 600)
  assert path.dtype == np.float32
  errors = np.linalg.norm(path - 3.0, axis=1).astype(np.float32)
  expected = theory.momentum_rate(0.4, 0.7, EIGENVALUES)
  assert errors.min() > 1e-9  # a floor is there
  assert theory.measured_rate(errors) == pytest.approx(expected, rel=0.01)
  assert theory.measured_rate(errors, floor=0.0) > 1.01 * expected  # fitting the floor fails


def test_measured_rate_of_a_divergent_run(x64):
  expected = theory.momentum_rate(1.5, 0.3, EIGENVALUES)
  assert expected > 1.1
  with np.errstate(over="ignore"):
    errors = distances(jl.momentum(1.5, 0.3), ROTATED, steps=3000)
  assert not np.isfinite(errors[-1])  # overflowed: measured up to there
  assert theory.measured_rate(errors) == pytest.approx(expected, rel=0.01)


def test_measured_rate_never_fits_values_at_the_float32_norm_floor():
  """Item 13: a float32 run towards w* = 0 whose norm underflows (its squares flush to 0 below
  sqrt(tiny) = 1.1e-19). With minimizer_norm=0 the floor is 1000 sqrt(tiny) = 1.1e-16, far
  below the relative default (1.2e-4 here), so the fit sees the asymptotic rate instead of the
  transient, and nothing at or below the floor: appending zeros changes nothing."""
  lr, beta = 3.157429, 0.687234  # a point of the momentum sweep that measured 0.797 < 0.818
  eigenvalues = np.geomspace(0.01, 1.0, 20)
  w0 = np.random.default_rng(0).normal(size=20).astype(np.float32)
  loss = lambda w: 0.5 * jnp.sum(jnp.asarray(eigenvalues, w.dtype) * w ** 2)
  errors = np.linalg.norm(run(jl.momentum(lr, beta), loss, w0 / np.linalg.norm(w0), 300), axis=1)
  assert errors.dtype == np.float32 and errors[-1] == 0.0  # underflowed
  expected = theory.momentum_rate(lr, beta, eigenvalues)
  measured = theory.measured_rate(errors, minimizer_norm=0.0)
  assert measured == pytest.approx(expected, rel=0.01)
  assert measured >= 0.99 * theory.momentum_optimal(eigenvalues).rate
  padded = np.concatenate([errors, np.zeros(50, np.float32)])
  assert theory.measured_rate(padded, minimizer_norm=0.0) == measured
  above = errors[errors > 1000 * np.sqrt(np.finfo(np.float32).tiny)]
  assert theory.measured_rate(above, floor=0.0) == pytest.approx(measured, rel=1e-12)


def test_stationary_variances_are_inf_or_zero_never_nan_or_negative_outside_stability():
  with np.errstate(all="raise"):  # no division warnings either
    sgd = theory.sgd_stationary_variance([0.0, 1.0, 2.0, 3.0], [0.0, 1.0], 0.5)
    heavy = theory.momentum_stationary_variance(np.array([[0.0], [1.0], [4.0]]),
                                                np.array([0.5, 1.0, -1.0, 1.5]), [0.0, 1.0], 0.5)
    loss = theory.sgd_expected_loss([1.0, 3.0], [1.0], 1.0, 1.0, 2000)
  np.testing.assert_array_equal(sgd[0], [0.0, 0.0])          # lr 0: no noise enters
  assert sgd[1, 1] == pytest.approx(0.25) and np.isinf(sgd[1, 0])  # lambda 0: a random walk
  assert np.isinf(sgd[2:, 1]).all()                           # lr lambda >= 2: no stationarity
  assert heavy.shape == (3, 4, 2) and not np.isnan(heavy).any() and (heavy >= 0).all()
  assert np.isinf(heavy[1, 1:]).all()                         # |beta| >= 1
  assert np.isinf(loss[1, -1]) and np.isfinite(loss[0]).all()  # lr lambda = 3 diverges


def test_the_jax_radius_kernel_has_finite_derivatives_on_the_band_edges():
  """At critical damping (discriminant 0) sqrt's derivative is infinite; the benchmark's
  jax.numpy kernel must still differentiate (the rate map is not differentiable there, but
  its derivative must not poison a sum with NaN)."""
  from jaxopt_lab.theory.rates import _momentum_radius
  beta = jnp.array([0.25, 0.49])
  edge = (1 - jnp.sqrt(beta)) ** 2
  grads = jax.grad(lambda x, b: jnp.sum(_momentum_radius(x, b, jnp)), argnums=(0, 1))(edge, beta)
  assert all(bool(jnp.isfinite(g).all()) for g in grads)


def test_measured_rate_needs_enough_errors():
  with pytest.raises(ValueError, match="only 2 errors lie above the noise floor"):
    theory.measured_rate([1.0, 0.1, 0.0, 0.0, 0.0])
  with pytest.raises(ValueError, match=r"errors must be in \[0, inf\)"):
    theory.measured_rate([1.0, -0.5])


def test_sgd_stationary_variance_and_heavy_ball_solve_lyapunov():
  """Var of (v, w) solves S = M S M^T + sigma^2 b b^T, b = (1, -lr): the noise enters v."""
  sigma = 0.3
  for lr, beta, eigenvalue in [(0.5, 0.0, 1.0), (0.3, 0.7, 2.0), (1.2, 0.4, 0.5)]:
    matrix = heavy_ball_matrix(lr, beta, eigenvalue)
    noise = np.array([[1.0], [-lr]])
    covariance = scipy.linalg.solve_discrete_lyapunov(matrix, sigma ** 2 * noise @ noise.T)
    assert theory.momentum_stationary_variance(lr, beta, eigenvalue, sigma)[0] == \
        pytest.approx(covariance[1, 1], rel=1e-10)
    if beta == 0:
      assert theory.sgd_stationary_variance(lr, eigenvalue, sigma)[0] == \
          pytest.approx(covariance[1, 1], rel=1e-10)


def test_sgd_expected_loss_follows_the_second_moment_recursion():
  """E[w w^T] <- A E[w w^T] A^T + lr^2 sigma^2 I, A = I - lr H, on the rotated H."""
  lr, sigma, steps, h = 0.6, 0.2, 50, ROTATED.hessian
  w0 = np.random.default_rng(3).normal(size=4)
  step = np.eye(4) - lr * h
  moment, expected = np.outer(w0, w0), []
  for _ in range(steps + 1):
    expected.append(0.5 * np.trace(h @ moment))
    moment = step @ moment @ step.T + lr ** 2 * sigma ** 2 * np.eye(4)
  eigenvalues, eigenvectors = np.linalg.eigh(h)
  loss = theory.sgd_expected_loss(lr, eigenvalues, sigma, eigenvectors.T @ w0, steps)
  np.testing.assert_allclose(loss, expected, rtol=1e-12)
  stationary = 0.5 * np.sum(eigenvalues * theory.sgd_stationary_variance(lr, eigenvalues, sigma))
  assert theory.sgd_expected_loss(lr, eigenvalues, sigma, 0.0, 5000)[-1] == \
      pytest.approx(stationary, rel=1e-12)
  # lr lambda = 2: no decay, the noise piles up linearly
  assert theory.sgd_expected_loss(1.0, 2.0, 1.0, 0.0, 3)[-1] == pytest.approx(3.0)


def test_newton_rate():
  np.testing.assert_allclose(theory.newton_rate([0.0, 0.5, 1.0, 1.5, 2.5]),
                             [1.0, 0.5, 0.0, 0.5, 1.5])


def test_tunings_need_a_positive_spectrum():
  with pytest.raises(ValueError, match=r"gd_optimal\(eigenvalues=...\): eigenvalues must be in \(0, inf\)"):
    theory.gd_optimal([-1.0, 2.0])
  with pytest.raises(ValueError, match=r"momentum_rate\(eigenvalues=\[\]\): eigenvalues must be a non-empty"):
    theory.momentum_rate(0.1, 0.5, [])
