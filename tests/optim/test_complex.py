"""Complex parameters, as optax treats them: a complex leaf z = x + iy is its (real, imaginary)
pair, its gradient is passed as g = dL/dx + i dL/dy (the conjugate of what jax.grad returns)
and second moments hold |g|^2 = g conj(g), one per pair.

For every optimizer of the table: a complex run whose imaginary parts are 0 is the real run,
and rotating the parameters and gradients of a leaf by a phase rotates its updates by it
(so the gradient 1j gives Adam's step -lr 1j, pytorch#59998). Against the lectures' pseudocode
with |g|^2 in complex128, and against optax where the algorithms agree; clipping and norms
equal to the real pairs; L-BFGS and Newton solves equal to the solves of the real pairs.
torch.optim differs on purpose for the adaptive methods: it runs complex parameters through
view_as_real, one second moment per real and per imaginary part.
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import jaxopt_lab as jl
from jaxopt_lab.optim.minimize import SolverStatus
from optimizer_table import TABLE

STEPS = 30


def abs_sq(z):
  return jnp.real(z) ** 2 + jnp.imag(z) ** 2


def complex_problem(seed: int = 0):
  """A smooth, non-quadratic loss of two complex leaves, and a start."""
  rng = np.random.default_rng(seed)
  normal = lambda *shape: rng.normal(size=shape) + 1j * rng.normal(size=shape)
  a, y, c = normal(6, 3), normal(6), normal(2, 2)

  def loss(p):
    residual = a @ p["z"] - y
    return (jnp.sum(jnp.log1p(abs_sq(residual))) + 0.1 * jnp.sum(abs_sq(p["Z"] @ c) ** 2)
            + jnp.sum(abs_sq(p["Z"] - 1j)))

  return loss, {"z": normal(3), "Z": normal(2, 2)}


def pair_gradient(loss):
  """optax's convention for complex leaves: the conjugate of jax.grad."""
  return lambda p: jax.tree.map(jnp.conj, jax.grad(loss)(p))


def run_complex(optimizer, loss, params, steps):
  """Iterates [w0, ..., w_steps], raveled, fed the pairs' gradients, compiled with jit."""
  grad = pair_gradient(loss)

  def step(carry, _):
    params, state = carry
    updates, state = optimizer.update(grad(params), state, params)
    params = optax.apply_updates(params, updates)
    return (params, state), ravel_pytree(params)[0]

  @jax.jit
  def path(params):
    return jax.lax.scan(step, (params, optimizer.init(params)), length=steps)[1]

  params = jax.tree.map(jnp.asarray, params)
  return np.concatenate([ravel_pytree(params)[0][None], path(params)])


def test_adam_steps_by_minus_lr_times_1j_on_the_gradient_1j_pytorch_59998():
  """|g|^2 = g conj(g) = 1, not g^2 = -1: the step is -lr * 1j (it was -lr, a real step)."""
  first = lambda adam, g: adam.update(g, adam.init(jnp.zeros_like(g)))[0]
  ours, theirs = jax.jit(lambda g: (first(jl.adam(1.0), g), first(optax.adam(1.0), g)))(
      jnp.array([1j, 1 + 1j]))
  np.testing.assert_allclose(ours, [-1j, -(1 + 1j) / np.sqrt(2)], rtol=1e-6)
  np.testing.assert_allclose(theirs, ours, rtol=1e-5)  # optax rounds 1 - b2 in float32


def synthetic_updates(optimizer, grads, params):
  """The updates of the steps fed the gradient sequence `grads` at fixed params."""
  state = optimizer.init(params)
  out = []
  for g in grads:
    updates, state = optimizer.update(g, state, params)
    out.append(updates)
  return out


def sequences(seed=0, steps=4):
  """Real gradient sequences and parameters for a two-leaf tree."""
  rng = np.random.default_rng(seed)
  grads = [{"a": rng.normal(size=3), "b": rng.normal(size=(2, 2))} for _ in range(steps)]
  return grads, {"a": rng.normal(size=3), "b": rng.normal(size=(2, 2))}


@pytest.mark.parametrize("name", TABLE)
def test_zero_imaginary_parts_run_as_real_ones_and_a_phase_rotates_the_updates(name, x64):
  """A complex run whose imaginary parts are 0 is the real run; multiplying a leaf's
  parameters and gradients by e^{i theta} multiplies its updates by e^{i theta}: the method
  sees |g| and the pair as a whole, not x and y apart. A coordinatewise row (Rprop, as torch's
  view_as_real) sees x and y apart: tests/optim/test_zoo.py compares it with torch instead."""
  row = TABLE[name]
  grads, params = sequences()
  rng = np.random.default_rng(2)
  as_complex = lambda t: jax.tree.map(lambda x: jnp.asarray(x, jnp.complex128), t)
  imaginary = lambda t: jax.tree.map(lambda x: x + 1j * rng.normal(size=np.shape(x)), t)
  phases = {"a": np.exp(1j * np.pi / 2), "b": np.exp(1j)}
  rotate = lambda t: {k: v * phases[k] for k, v in t.items()}

  @jax.jit
  def runs(grads, params, complex_grads, complex_params):
    optimizer = row.factory(**row.hyper)
    return (synthetic_updates(optimizer, grads, params),
            synthetic_updates(optimizer, as_complex(grads), as_complex(params)),
            synthetic_updates(optimizer, complex_grads, complex_params),
            synthetic_updates(optimizer, [rotate(g) for g in complex_grads],
                              rotate(complex_params)))

  real, zero_imaginary, plain, rotated = runs(grads, params, [imaginary(g) for g in grads],
                                              imaginary(params))
  for r, c in zip(jax.tree.leaves(real), jax.tree.leaves(zero_imaginary)):
    assert c.dtype == jnp.complex128
    np.testing.assert_allclose(c, r, rtol=1e-12, atol=1e-15)
  for p, r in zip(plain, rotated):
    for key in phases:
      if not row.coordinatewise:
        np.testing.assert_allclose(r[key], p[key] * phases[key], rtol=1e-12, atol=1e-15)
  assert np.abs(plain[-1]["a"].imag).max() > 1e-3  # complex updates, not a real projection


def flat_complex_problem():
  loss, params = complex_problem(seed=3)
  flat, unravel = ravel_pytree(jax.tree.map(jnp.asarray, params))
  grad = jax.jit(pair_gradient(lambda x: loss(unravel(x))))
  return (lambda x: loss(unravel(x))), (lambda x: np.asarray(grad(x))), np.asarray(flat)


@pytest.mark.parametrize("name", [n for n, row in TABLE.items() if row.reference])
def test_matches_the_pseudocode_with_absolute_squares_in_complex128(name, x64):
  row = TABLE[name]
  loss, grad, x0 = flat_complex_problem()
  ours = run_complex(row.factory(**row.hyper), loss, jnp.asarray(x0), STEPS)
  lecture = np.stack(row.reference(grad, x0.copy(), STEPS, row.hyper))
  assert lecture.dtype == np.complex128 and np.abs(lecture[-1] - x0).max() > 1e-2
  np.testing.assert_allclose(ours, lecture, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("ours,theirs", [
    (jl.adam(0.01, 0.8, 0.99, 1e-8), optax.adam(0.01, 0.8, 0.99, 1e-8)),
    (jl.adamw(0.01, 0.8, 0.99, 1e-8, weight_decay=0.1),
     optax.adamw(0.01, 0.8, 0.99, 1e-8, weight_decay=0.1)),
    (jl.adam(0.01, eps_root=1e-8), optax.adam(0.01, eps_root=1e-8)),
    (jl.momentum(0.005, 0.8), optax.sgd(0.005, momentum=0.8))],
    ids=["adam", "adamw", "adam eps_root", "momentum"])
def test_matches_optax_on_complex_parameters(ours, theirs, x64):
  loss, params = complex_problem()
  path = run_complex(ours, loss, params, STEPS)
  assert np.abs(path[-1] - path[0]).max() > 1e-2
  np.testing.assert_allclose(path, run_complex(theirs, loss, params, STEPS), rtol=1e-10,
                             atol=1e-12)


def test_clipping_and_the_global_norm_treat_a_complex_leaf_as_its_pairs():
  z = {"a": jnp.array([3 + 4j, 0j]), "b": jnp.array([[1j]])}
  pairs = {"a": jnp.array([3.0, 4.0, 0.0, 0.0]), "b": jnp.array([0.0, 1.0])}

  @jax.jit
  def clip_both(z, pairs):
    ours = jl.clip_by_global_norm(1.0).update(z, optax.EmptyState())[0]
    theirs = optax.clip_by_global_norm(1.0).update(z, optax.EmptyState())[0]
    return jl.global_norm(z), jl.global_norm(pairs), ours, jl.global_norm(ours), theirs

  norm, pairs_norm, clipped, clipped_norm, theirs = clip_both(z, pairs)
  assert float(norm) == pytest.approx(float(pairs_norm), rel=1e-6)
  assert float(norm) == pytest.approx(np.sqrt(26.0), rel=1e-6)
  np.testing.assert_allclose(clipped["a"], np.array([3 + 4j, 0j]) / np.sqrt(26), rtol=1e-6)
  assert float(clipped_norm) == pytest.approx(1.0, rel=1e-6)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), clipped, theirs)


def as_pairs(z):
  return jnp.concatenate([jnp.real(z), jnp.imag(z)])


def as_complex(x):
  return x[:x.size // 2] + 1j * x[x.size // 2:]


@pytest.mark.parametrize("method,options", [
    ("lbfgs", {}), ("newton", {})], ids=["lbfgs", "newton"])
def test_second_order_solves_of_complex_parameters_equal_those_of_the_pairs(method, options,
                                                                            x64):
  """optax's own check (alias_test.test_lbfgs_complex): the complex solve lands where the
  solve of the (real, imaginary) pairs does, in as many steps."""
  matrix = jnp.array([[1, -2], [3, 4], [-4 + 2j, 5 - 3j], [-2 - 2j, 6]])
  loss = lambda z: jnp.sum(abs_sq(matrix @ z - jnp.array([1, 1j, 2, -1])) ** 0.75)
  z0 = jnp.array([1 - 1j, 0 + 1j])
  ours = jl.minimize(loss, z0, method, tol=1e-8, **options)
  pairs = jl.minimize(lambda x: loss(as_complex(x)), as_pairs(z0), method, tol=1e-8, **options)
  assert int(ours.status) == int(pairs.status) == SolverStatus.CONVERGED
  assert int(ours.num_steps) == int(pairs.num_steps)
  np.testing.assert_allclose(ours.params, as_complex(pairs.params), rtol=1e-8, atol=1e-10)
