"""Training diagnosis on real digits runs built to be each case of the lectures' rules: each is
named correctly, and a healthy tuned run gets no finding. Six runs share one compiled program
(the case is a row of traced hyperparameters); the overfitting run trains on 150 examples."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxopt_lab.diagnostics.diagnosis import FINDINGS, diagnose
from jaxopt_lab.optim.aliases import adam, sgd
from jaxopt_lab.optim.combine import one_of
from jaxopt_lab.sweeps.engine import run_sweep
from jaxopt_lab.train import losses
from jaxopt_lab.train.data import digits, training_subset
from jaxopt_lab.train.early_stopping import EarlyStopping
from jaxopt_lab.train.loop import evaluation_steps, run_curves, train
from jaxopt_lab.train.models import MLP

HIGH, LOW, UNDERFIT, OVERFIT, RATIO, DEAD = FINDINGS
STEPS, EVERY = 500, 25
# case: (adam (else SGD), learning rate, L2 strength, first layer's updates x, dead units)
CASES = {
    "healthy": (1, 1e-3, 0.0, 1.0, 0.0),
    "learning rate too high": (0, 3.0, 0.0, 1.0, 0.0),     # SGD at 3: NaN within 50 steps
    "learning rate too low": (0, 1e-3, 0.0, 1.0, 0.0),     # SGD at 1e-3: a crawl
    "underfitting": (1, 1e-3, 0.3, 1.0, 0.0),              # L2 0.3: the weights cannot grow
    "frozen first layer": (1, 1e-3, 0.0, 0.0, 0.0),        # its updates dropped: ratio 0
    "dead ReLUs": (1, 1e-3, 0.0, 1.0, 1.0),                # half the hidden biases at -50
}
EXPECTED = {"healthy": set(), "learning rate too high": {HIGH, RATIO},   # ratio 1.2 first
            "learning rate too low": {LOW},
            "underfitting": {UNDERFIT}, "frozen first layer": {RATIO}, "dead ReLUs": {DEAD}}


def scale_first_layer(factor):
  """Multiplies the updates of the first hidden layer by `factor` (0: a layer the optimizer
  never moves, as when its parameters are left out of it)."""
  def update(updates, state, params=None):
    del params
    scale = lambda path, u: u * factor if "hidden" in jax.tree_util.keystr(path) else u
    return jax.tree_util.tree_map_with_path(scale, updates), state
  return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def case_run(h, key):
  data = digits(0)

  def make_model(rngs):
    model = MLP(64, (64,), 10, "relu", rngs=rngs)
    bias = model.hidden[0].bias
    bias[...] = bias[...] - 50.0 * h["dead"] * (jnp.arange(64) < 32)   # never positive again
    return model

  optimizer = optax.chain(one_of([sgd(h["rate"]), adam(h["rate"])], h["adam"].astype(jnp.int32)),
                          scale_first_layer(h["factor"]))
  return run_curves(train(make_model, optimizer, data, key, steps=STEPS, batch_size=64,
                          eval_every=EVERY, penalty=lambda p: losses.l2(p, h["l2"])))


@functools.cache
def case_curves():
  """Every case's curves, from one sweep (one program, compiled as sweeps are)."""
  digits(0)  # loaded outside the trace, so the cached arrays are concrete
  columns = dict(zip(["adam", "rate", "l2", "factor", "dead"], np.array(list(CASES.values())).T))
  curves = run_sweep(case_run, columns, [0], progress=False).curves
  return {name: {k: v[i] for k, v in curves.items()} for i, name in enumerate(CASES)}


@pytest.mark.parametrize("case", CASES)
def test_each_case_is_named_and_only_it(case):
  findings = diagnose(case_curves()[case], evaluation_steps(STEPS, EVERY))
  assert {f.name for f in findings} == EXPECTED[case], findings
  assert all(f.evidence for f in findings)


def test_overfitting_on_150_examples_and_early_stopping_cuts_it():
  data = training_subset(digits(0), 150)

  def run(h, key):
    result = train(lambda rngs: MLP(64, (128,), 10, "relu", rngs=rngs), adam(1e-3), data, key,
                   steps=1000, batch_size=32, eval_every=50, train_set_metrics=True,
                   early_stopping=EarlyStopping(h["patience"]))
    return {**run_curves(result), "best_step": result.best_step,
            "stopped_step": result.stopped_step}

  sweep = run_sweep(run, {"patience": np.array([np.inf, 2.0])}, [0], progress=False)
  runs = [{k: v[i] for k, v in sweep.curves.items()} for i in range(2)]
  marks = evaluation_steps(1000, 50)
  full = diagnose(runs[0], marks)
  assert [f.name for f in full] == [OVERFIT], full
  assert "above its minimum" in full[0].evidence
  stopped, best = (int(sweep.scalars[name][1]) for name in ("stopped_step", "best_step"))
  assert stopped < 1000 and best == stopped - 2 * 50 and sweep.scalars["stopped_step"][0] == 1000
  assert OVERFIT not in {f.name for f in diagnose(runs[1], marks, stopped_step=stopped)}


def test_eval_steps_must_match_the_run():
  curves = {"train_loss": np.ones(10)}
  with pytest.raises(ValueError, match=r"diagnose\(eval_steps=...\): eval_steps must end at"):
    diagnose(curves, [5, 9])
