"""The zoo beyond the table's generic tests: masks (torch's parameter groups, optax's masks, bad
masks in one line), complex leaves against optax and torch, where optax 0.2.8 differs and
why, Muon's orthogonalization, Adafactor's factored state, schedule-free evaluation, iterate
averaging against torch.optim.swa_utils, and finite derivatives at zero gradients."""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

import jaxopt_lab as jl
from helpers import multi_leaf_problem, run, run_torch, torch_float64
from optimizer_table import TABLE

STEPS = 40
MATRICES = lambda params: jax.tree.map(lambda w: jnp.ndim(w) == 2, params)  # decay W only


def same_path(ours, theirs, params=None, loss=None, rtol=1e-9):
  if loss is None:
    loss, params = multi_leaf_problem()
  path = run(ours, loss, params, STEPS)
  assert np.abs(path[-1] - path[0]).max() > 1e-2  # the run went somewhere
  np.testing.assert_allclose(path, run(theirs, loss, params, STEPS), rtol=rtol,
                             atol=1e-3 * rtol)
  return path


def test_adamw_mask_equals_torch_parameter_groups(x64):
  """adamw(mask=...) is torch.optim.AdamW with the unmasked leaves in a group with
  weight_decay=0 (the leaves run in sorted order: W, b, w); a function mask is the same."""
  loss, params = multi_leaf_problem()
  mask = {"W": True, "b": False, "w": True}
  ours = run(jl.adamw(0.01, 0.8, 0.99, weight_decay=0.1, mask=mask), loss, params, STEPS)
  groups = lambda ts: torch.optim.AdamW(
      [{"params": [ts[0], ts[2]], "weight_decay": 0.1}, {"params": [ts[1]], "weight_decay": 0.0}],
      lr=0.01, betas=(0.8, 0.99))
  np.testing.assert_allclose(ours, run_torch(groups, loss, params, STEPS), rtol=1e-9,
                             atol=1e-12)
  by_function = jl.adamw(0.01, 0.8, 0.99, weight_decay=0.1, mask=lambda p: {k: k != "b" for k in p})
  np.testing.assert_array_equal(run(by_function, loss, params, STEPS), ours)
  unmasked = run(jl.adamw(0.01, 0.8, 0.99, weight_decay=0.1), loss, params, STEPS)
  assert np.abs(unmasked - ours).max() > 1e-4  # the mask does something


MASKED = {  # ours, optax's: decay on the matrix W only, as optax's masks write it
    "lion": (jl.lion(1e-3, weight_decay=0.5, mask=MATRICES),
             optax.lion(1e-3, weight_decay=0.5, mask=MATRICES)),
    "lamb": (jl.lamb(0.01, weight_decay=0.1, mask=MATRICES),
             optax.lamb(0.01, weight_decay=0.1, mask=MATRICES)),
    "lars": (jl.lars(0.5, weight_decay=0.1, trust_coefficient=0.01, mask=MATRICES),
             optax.lars(0.5, 0.1, weight_decay_mask=MATRICES, trust_coefficient=0.01,
                        trust_ratio_mask=MATRICES)),
    "muon": (jl.muon(0.02, weight_decay=0.1, mask=MATRICES),
             optax.contrib.muon(0.02, weight_decay=0.1)),  # its decay is on matrices only
    "schedule_free_adamw": (
        jl.schedule_free_adamw(0.01, weight_decay=0.1, mask=MATRICES),
        optax.contrib.schedule_free(optax.chain(
            optax.scale_by_rms(0.999, 1e-8, eps_in_sqrt=False, bias_correction=True),
            optax.add_decayed_weights(0.1, MATRICES), optax.scale_by_learning_rate(0.01)),
            0.01, 0.9)),
}


@pytest.mark.parametrize("name", MASKED)
def test_masked_decay_matches_optax(name, x64):
  same_path(*MASKED[name])


def test_masked_adafactor_matches_optax_with_the_rate_in_its_decay(x64):
  """optax's weight_decay_rate is not scaled by the learning rate; ours is (as AdamW's)."""
  same_path(jl.adafactor(0.1, weight_decay=0.1, mask=MATRICES, min_dim_size_to_factor=2),
            optax.adafactor(0.1, min_dim_size_to_factor=2, weight_decay_rate=0.1 * 0.1,
                            weight_decay_mask=MATRICES), rtol=1e-5)  # optax: float32 beta_t


@pytest.mark.parametrize("mask,shown", [
    ({"w": True}, "got leaves [\"['w']\"] for parameters with leaves"),
    ({"w": True, "b": "yes", "W": True}, "got 'yes' at ['b']"),
    (lambda p: [True, False], "got leaves ['[0]', '[1]'] for parameters"),
])
def test_a_mask_that_does_not_fit_is_one_line_naming_the_optimizer(mask, shown):
  _, params = multi_leaf_problem()
  with pytest.raises(ValueError) as error:
    jl.adamw(1e-3, mask=mask).init(params)
  message = str(error.value)
  assert message.startswith("adamw(mask=...): mask must be a pytree of bools with the "
                            "parameters' structure or a prefix of it, got ")
  assert shown in message and "\n" not in message


def complex_problem():
  """Complex leaves, a real loss (a robust fit of W w to 1 and a quartic pull on w)."""
  rng = np.random.default_rng(3)
  params = {"w": rng.normal(size=4) + 1j * rng.normal(size=4),
            "W": rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))}
  target = rng.normal(size=4) + 1j * rng.normal(size=4)

  def loss(p):
    residual = p["W"] @ p["w"] - 1.0
    return (jnp.sum(jnp.log1p(jnp.abs(residual) ** 2))
            + 0.1 * jnp.sum(jnp.abs(p["w"] - target) ** 4))

  return loss, params


COMPLEX_DIFFERS = {  # rows with an optax reference whose complex numbers differ, and why
    "adadelta": "optax.scale_by_adadelta averages g^2 of complex g, not |g|^2 = g conj(g)",
}
@pytest.mark.parametrize("name", [n for n, row in TABLE.items()
                                  if row.optax and n not in COMPLEX_DIFFERS])
def test_complex_leaves_match_optax(name, x64):
  row = TABLE[name]
  loss, params = complex_problem()
  path = same_path(row.factory(**row.hyper), row.optax(row.hyper), params, loss,
                   rtol=row.optax_rtol)
  assert np.iscomplexobj(path)


def test_complex_adadelta_uses_the_squared_modulus():
  """The first step is sqrt(eps) g / sqrt((1 - rho) |g|^2 + eps), a complex multiple of g by a
  real factor (optax's g^2 would make it complex)."""
  g = jnp.array([3 + 4j, -1j])
  optimizer = jl.scale_by_adadelta(rho=0.9, eps=1e-6)
  update, _ = optimizer.update(g, optimizer.init(g))
  expected = np.sqrt(1e-6) * g / np.sqrt(0.1 * np.abs(g) ** 2 + 1e-6)
  np.testing.assert_allclose(update, expected, rtol=1e-5)


def test_complex_rprop_matches_torch_on_real_and_imaginary_parts(x64):
  loss, params = complex_problem()
  ours = run(jl.rprop(0.01), loss, params, STEPS)
  theirs = run_torch(lambda ps: torch.optim.Rprop(ps, lr=0.01), loss, params, STEPS)
  np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("problem", [multi_leaf_problem, complex_problem])
def test_the_adam_variants_optax_computes_differently(problem, x64):
  """optax.nadam is Dozat's constant-momentum NAdam: ours with momentum_decay = inf. optax.radam
  adds eps after the bias correction (and switches at rho_t >= 5): ours with eps = 0."""
  loss, params = problem()
  same_path(jl.nadam(0.01, momentum_decay=math.inf), optax.nadam(0.01), params, loss)
  same_path(jl.radam(0.01, eps=0.0), optax.radam(0.01, eps=0.0), params, loss)


def test_rprop_keeps_signs_as_int8_and_recovers_from_a_nan_gradient_as_torch():
  """The state holds the last gradient's sign (int8, two per complex number), not the
  gradient. A NaN gradient gives a NaN update (torch's sign(NaN) = 0 skips that coordinate
  silently) and leaves the step size as it was; the steps after it equal torch.optim.Rprop's
  (its NaN `prev` makes s NaN, ours a sign of 0: no change of size either way)."""
  params = {"w": jnp.array([1.0, -2.0]), "z": jnp.zeros(3, jnp.complex64)}
  state = jl.rprop(0.1).init(params)
  sign_of = state[0].prev_sign
  assert sign_of["w"].dtype == jnp.int8 and sign_of["w"].shape == (2,)
  assert sign_of["z"].dtype == jnp.int8 and sign_of["z"].shape == (2, 3)

  gradients = [[0.5, 0.3], [np.nan, -0.3], [0.5, 0.3], [0.5, 0.3]]
  ours = np.array(updates_of(jl.rprop(0.1), {"w": jnp.array([1.0, -2.0])},
                             [{"w": jnp.array(g)} for g in gradients]))
  w = torch.tensor([1.0, -2.0], requires_grad=True)
  rprop, theirs = torch.optim.Rprop([w], lr=0.1), []
  for g in gradients:   # from the same point each step (torch's update does not read it)
    with torch.no_grad():
      w.copy_(torch.tensor([1.0, -2.0]))
    w.grad = torch.tensor(g)
    rprop.step()
    theirs.append(w.detach().numpy() - [1.0, -2.0])
  assert np.isnan(ours[1, 0]) and theirs[1][0] == 0.0
  ours[1, 0] = 0.0
  np.testing.assert_allclose(ours, theirs, rtol=1e-6)
  assert ours[1, 1] == 0.0   # the flip: no move, as torch


def updates_of(optimizer, params, grads):
  state, out = optimizer.init(params), []
  for g in grads:
    update, state = optimizer.update(g, state, params)
    out.append(update["w"])
  return out


def test_optax_rprop_lags_one_step_behind_torch():
  """optax.rprop 0.2.8 returns each step's update one step late (optax PR #1725): its first
  update is 0 and its second is our (and torch.optim.Rprop's) first."""
  params = {"w": jnp.array([1.0, -2.0])}
  grads = {"w": jnp.array([0.5, 0.3])}

  def updates(optimizer):
    state, out = optimizer.init(params), []
    for _ in range(3):
      update, state = optimizer.update(grads, state, params)
      out.append(np.asarray(update["w"]))
    return out

  ours = updates(jl.rprop(0.1))
  np.testing.assert_allclose(ours, [[-0.1, -0.1], [-0.12, -0.12], [-0.144, -0.144]], rtol=1e-6)
  if optax.__version__ == "0.2.8":
    theirs = updates(optax.rprop(0.1))
    np.testing.assert_array_equal(theirs[0], 0.0)
    np.testing.assert_allclose(theirs[1:], ours[:-1], rtol=1e-6)


@pytest.mark.parametrize("shape", [(20, 30), (30, 20), (8, 8)])
def test_newton_schulz_orthogonalizes(shape):
  """Singular values spread over two decades come out in about [0.6, 1.25] (Jordan's
  coefficients do not converge to 1, by design; five iterations lift 1/500 of the Frobenius
  norm to about 1, and no further)."""
  rng = np.random.default_rng(0)
  u, _ = np.linalg.qr(rng.normal(size=(shape[0], shape[0])))
  v, _ = np.linalg.qr(rng.normal(size=(shape[1], shape[1])))
  spread = np.diag(np.geomspace(0.1, 10, min(shape)))
  x = u[:, :min(shape)] @ spread @ v[:min(shape)]
  singular = np.linalg.svd(jl.orthogonalize_via_newton_schulz(jnp.float32(x)),
                           compute_uv=False)
  assert 0.6 < singular.min() and singular.max() < 1.25, singular


def test_scale_by_muon_takes_matrices_only_in_one_line():
  with pytest.raises(ValueError) as error:
    jl.scale_by_muon().init({"w": jnp.ones(3)})
  assert str(error.value) == ("scale_by_muon: the leaf at ['w'] has shape (3,); Muon "
                              "orthogonalizes matrices only (muon() sends every other leaf to "
                              "Adam)")


def test_adafactor_keeps_a_factored_second_moment():
  """A [200, 300] matrix keeps 200 + 300 numbers of second moment, a vector its own size."""
  params = {"W": jnp.zeros((200, 300)), "b": jnp.zeros(300)}
  state = jl.adafactor(1e-2).init(params)[0]
  shapes = lambda tree: {k: v.shape for k, v in tree.items()}
  assert shapes(state.v_row) == {"W": (200,), "b": (1,)}
  assert shapes(state.v_col) == {"W": (300,), "b": (1,)}
  assert shapes(state.v) == {"W": (1,), "b": (300,)}


def run_with_state(optimizer, loss, params, steps):
  step = jax.jit(lambda p, s: (lambda u, s: (optax.apply_updates(p, u), s))(
      *optimizer.update(jax.grad(loss)(p), s, p)))
  state = optimizer.init(params)
  for _ in range(steps):
    params, state = step(params, state)
  return params, state


def test_schedule_free_evaluation_point_matches_optax(x64):
  loss, params = multi_leaf_problem()
  params = jax.tree.map(jnp.asarray, params)
  ours = run_with_state(optax.chain(jl.clip_by_global_norm(10.0),
                                    jl.schedule_free_adamw(0.01, warmup_steps=5)),
                        loss, params, 30)
  theirs = run_with_state(optax.contrib.schedule_free_adamw(0.01, warmup_steps=5), loss,
                          params, 30)
  x = jl.schedule_free_eval_params(ours[1], ours[0])  # found inside the chain
  expected = optax.contrib.schedule_free_eval_params(*theirs[::-1])
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-7), x, expected)
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b), jl.evaluation_params(*ours[::-1]),
               x)
  assert np.abs(x["w"] - ours[0]["w"]).max() > 1e-3  # x is not the parameters y
  with pytest.raises(ValueError, match=r"^schedule_free_eval_params\(state=...\): state must "
                                       r"contain one ScheduleFreeState .*got 0$"):
    jl.schedule_free_eval_params(jl.adam().init(params), params)


def test_averaging_matches_torch_swa_utils(x64):
  """polyak_averaging is AveragedModel's default average updated after each step past `start`
  (SWA's swa_start); ema_averaging is AveragedModel(multi_avg_fn=get_ema_multi_avg_fn)."""
  loss, params = multi_leaf_problem()
  params = jax.tree.map(jnp.asarray, params)
  names = sorted(params)
  start, decay, lr = 5, 0.9, 0.05
  polyak = run_with_state(jl.polyak_averaging(jl.sgd(lr), start), loss, params, 30)
  ema = run_with_state(jl.ema_averaging(jl.sgd(lr), decay), loss, params, 30)
  plain = run_with_state(jl.sgd(lr), loss, params, 30)[0]
  jax.tree.map(np.testing.assert_array_equal, polyak[0], plain)  # the steps are unchanged

  with torch_float64():
    module = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(np.asarray(params[k])))
                                     for k in names])
    swa = torch.optim.swa_utils.AveragedModel(module)
    moving = torch.optim.swa_utils.AveragedModel(
        module, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay))
    optimizer = torch.optim.SGD(module.parameters(), lr=lr)
    grad = jax.jit(jax.grad(loss))
    for step in range(1, 31):
      grads = grad({k: jnp.asarray(p.detach().numpy()) for k, p in zip(names, module)})
      for k, p in zip(names, module):
        p.grad = torch.from_numpy(np.array(grads[k]))
      optimizer.step()
      moving.update_parameters(module)
      if step > start:
        swa.update_parameters(module)
  for averaged, ours in [(swa, polyak[1]), (moving, ema[1])]:
    theirs = {k: p.detach().numpy() for k, p in zip(names, averaged.module)}
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12),
                 jl.averaged_params(ours), theirs)
  assert int(polyak[1].n_averaged) == int(swa.n_averaged) == 30 - start


ZOO = [name for name, row in TABLE.items()
       if row.factory.__module__ != "jaxopt_lab.optim.aliases"]


@functools.cache
def derivatives_at_zero() -> dict:
  """Hypergradients through two steps of every zoo optimizer, from zero parameters and zero
  gradients, with its eps-like hyperparameters 0 (norms, square roots and quotients at 0):
  the derivatives in every hyperparameter, the parameters and the gradients (one program)."""
  zeros = {"w": jnp.zeros(3), "W": jnp.zeros((2, 3))}

  def total(hyper, params, grads, name):
    optimizer = TABLE[name].factory(**hyper)
    state = optimizer.init(params)
    for _ in range(2):
      updates, state = optimizer.update(grads, state, params)
      params = optax.apply_updates(params, updates)
    return sum(jnp.sum(leaf) for leaf in jax.tree.leaves(params))

  def hyper_of(name):
    degenerate = {"eps": 0.0, "eps_root": 0.0, "weight_decay": 0.0}
    return {k: jnp.float32(degenerate.get(k, v)) for k, v in TABLE[name].hyper.items()}

  return jax.jit(lambda zeros: {
      name: jax.grad(total, argnums=(0, 1, 2))(hyper_of(name), zeros, zeros, name)
      for name in ZOO})(zeros)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_derivatives_are_finite_at_zero_gradients(name):
  tree = derivatives_at_zero()[name]
  assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(tree)), tree
