"""The bad-input table: one row per bad input, each must raise ValueError with the standard
message, `call(param=value): param must be <valid range>, got value`.

Adding a public factory means adding its rows in its section below. Rows whose call traces
(hyperparameters that may be tracers) are also run with the bad value traced: it must then
be accepted, since a traced value is unknown at construction. Messages known to deviate from
the standard are listed at the end, per owner, as strict xfails: fixing one makes its xfail
pass, which fails the run until the row moves into the table.
"""
import argparse
import math
import re
from functools import partial
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxopt_lab as jl
from jaxopt_lab import theory
from jaxopt_lab.optim import linesearch, schedules, second_order
from jaxopt_lab.sweeps import space as search_space
from jaxopt_lab.train import augment, data, losses, models
from jaxopt_lab.train.dropout import dropout
from jaxopt_lab.train.early_stopping import EarlyStopping
from jaxopt_lab.train.regularizers import Regularization
from jaxopt_lab.train.soft_targets import mixup, smooth_labels
from jaxopt_lab.train.checkpoint import save_checkpoint
from jaxopt_lab.diagnostics.gradient_check import gradcheck
from jaxopt_lab.optim.nonfinite import skip_nonfinite
from jaxopt_lab.optim.plateau import reduce_on_plateau
from jaxopt_lab.studies import sweep as sweep_study
from jaxopt_lab.train.loop import evaluation_steps, train
from optimizer_table import TABLE

STANDARD = re.compile(r"^(?P<call>[\w.]+)\((?P<args>.*?)\): (?P<param>[\w\[\]]+) must be "
                      r"(?P<range>.+?), got (?P<got>.+)$", re.S)


class Bad(NamedTuple):
  call: str                  # the call the message names
  fn: Callable               # fn(**kwargs) must raise
  kwargs: dict
  param: str                 # the parameter the message names
  fragment: str              # the valid range as the message writes it (or its type)
  arg: Optional[str] = None  # kwargs key of the bad value, if not `param`
  shown: Optional[str] = None  # how the message writes the value, if not repr(value)
  trace: Optional[Callable] = None  # use of fn's result: then a traced bad value is accepted

  @property
  def value(self) -> Any:
    return self.kwargs[self.arg or self.param]


PARAMS = {"w": jnp.ones(2)}
init = lambda transform: transform.init(PARAMS)
at_step_3 = lambda schedule: schedule(jnp.int32(3))
itself = lambda value: value
NAN, INF = math.nan, math.inf


def rows(call, fn, param, cases, trace=None, **fixed):
  """One Bad per (bad value, fragment) in `cases`, the other arguments `fixed`."""
  return [Bad(call, fn, {**fixed, param: value}, param, fragment, trace=trace)
          for value, fragment in cases]


# -- optimizer factories: every hyperparameter of the optimizer table, exact messages ---------
# (subsumes tests/test_validation.py::test_bad_values_are_rejected_with_a_precise_message;
# each parameter's valid range and bad values: optimizer_table.RANGES, or the row's own)

OPTIMIZERS = [Bad(name, row.factory, {**row.hyper, param: bad}, param,
                  f"must be in {row.range_of(param)[0]}, got {bad!r}", trace=init)
              for name, row in TABLE.items() for param in row.hyper
              for bad in row.range_of(param)[1]]

# -- building blocks and odd types ---------------------------------------------------------------

BLOCKS = [
    *rows("scale_by_learning_rate", jl.scale_by_learning_rate, "learning_rate",
          [(-0.1, "in [0, inf)"), (INF, "in [0, inf)")], trace=init),
    Bad("scale_by_learning_rate", jl.scale_by_learning_rate, {"learning_rate": np.float32(-2)},
        "learning_rate", "in [0, inf)", shown="-2.0", trace=init),
    *rows("scale_by_momentum", jl.scale_by_momentum, "beta",
          [(1.0, "in [0, 1)"), (NAN, "in [0, 1)")], trace=init),
    *rows("scale_by_nesterov", jl.scale_by_nesterov, "beta", [(-0.5, "in [0, 1)")], trace=init),
    *rows("scale_by_adagrad", jl.scale_by_adagrad, "eps", [(-1.0, "in [0, inf)")], trace=init),
    *rows("scale_by_rmsprop", jl.scale_by_rmsprop, "decay", [(1.0, "in [0, 1)")], trace=init),
    *rows("scale_by_rmsprop", jl.scale_by_rmsprop, "eps", [(-1.0, "in [0, inf)")], trace=init),
    *rows("scale_by_adam", jl.scale_by_adam, "b1", [(1.0, "in [0, 1)")], trace=init),
    *rows("scale_by_adam", jl.scale_by_adam, "b2", [(1.5, "in [0, 1)")], trace=init),
    *rows("scale_by_adam", jl.scale_by_adam, "eps", [(-1, "in [0, inf)")], trace=init),
    *rows("scale_by_adam", partial(jl.scale_by_adam, amsgrad=True), "b2", [(-0.1, "in [0, 1)")],
          trace=init),
    *rows("scale_by_adam", partial(jl.scale_by_adam, amsgrad=True), "b1", [(NAN, "in [0, 1)")],
          trace=init),
    *rows("add_decayed_weights", jl.add_decayed_weights, "weight_decay",
          [(-1, "in [0, inf)")], trace=init),
    *rows("clip_by_global_norm", jl.clip_by_global_norm, "max_norm",
          [(0.0, "in (0, inf)"), (-1.0, "in (0, inf)"), (INF, "in (0, inf)")], trace=init),
    # odd types: a bool is the number 1, None and strings are not numbers, arrays not scalars
    *rows("adam", jl.adam, "b1", [(True, "in [0, 1)")]),
    *rows("adam", jl.adam, "eps", [(None, "a real number"), (1 + 0j, "a real number")]),
    *rows("sgd", jl.sgd, "learning_rate", [("fast", "a real number")]),
    Bad("adam", jl.adam, {"learning_rate": jnp.array([1e-3, 1e-2])}, "learning_rate",
        "a scalar, got an array of shape (2,)", shown="..."),
]

# -- velocity forms -------------------------------------------------------------------------------

VELOCITY_FORMS = [
    *rows("momentum_velocity_form", jl.momentum_velocity_form, "learning_rate",
          [(-1.0, "in [0, inf)")], trace=init),
    *rows("momentum_velocity_form", jl.momentum_velocity_form, "beta", [(1.0, "in [0, 1)")],
          trace=init, learning_rate=0.1),
    *rows("nesterov_lookahead_form", jl.nesterov_lookahead_form, "beta", [(NAN, "in [0, 1)")],
          trace=init, learning_rate=0.1),
    *rows("nesterov_change_of_variables", jl.nesterov_change_of_variables, "learning_rate",
          [(INF, "in [0, inf)")], trace=init),
    Bad("momentum_velocity_form", jl.momentum_velocity_form, {"learning_rate": lambda t: 0.1},
        "learning_rate", "a number in [0, inf) (the velocity forms take a constant learning "
        "rate", shown="<schedule>"),
]

# -- non-finite steps and checkpoints -------------------------------------------------------------

RELIABILITY = [
    *rows("skip_nonfinite", partial(skip_nonfinite, jl.sgd(0.1)), "max_consecutive_errors",
          [(-1, "in [0, 2147483647]"), (1.5, "an integer in [0, 2147483647]"),
           (2 ** 31, "in [0, 2147483647]")]),
    *rows("save_checkpoint", partial(save_checkpoint, "/nonexistent/never-written", tree={}),
          "step", [(-1, "in [0, 1000000000000000)"), (2.5, "an integer in [0, ")]),
    *rows("save_checkpoint", partial(save_checkpoint, "/nonexistent/never-written", tree={}),
          "keep", [(0, "in [1, inf)")], step=1),
]

# -- data -----------------------------------------------------------------------------------------

X_SMALL, Y_SMALL = np.zeros((30, 2)), np.arange(30) % 3
KEY = jax.random.key(0)
DATA = [
    *rows("blobs", data.blobs, "n", [(0, "in [1, inf)"), (2.5, "an integer in [1, inf)")]),
    *rows("blobs", data.blobs, "num_classes", [(1, "in [2, inf)")]),
    *rows("blobs", data.blobs, "spread", [(0.0, "in (0, inf)"), (NAN, "in (0, inf)")]),
    *rows("spirals", data.spirals, "noise", [(-0.1, "in [0, inf)")]),
    *rows("spirals", data.spirals, "num_classes", [(0, "in [2, inf)")]),
    *rows("split", partial(data.split, "s", X_SMALL, Y_SMALL, 0), "val_fraction",
          [(1.5, "in [0, 1]")]),
    *rows("split", partial(data.split, "s", X_SMALL, Y_SMALL, 0), "test_fraction",
          [(-0.1, "in [0, 1]")]),
    *rows("minibatch", partial(data.minibatch, KEY, 0), "batch_size",
          [(0, "in [1, 10]"), (11, "in [1, 10]")], size=10),
    *rows("minibatch", partial(data.minibatch, KEY, 0), "size", [(0, "in [1, inf)")],
          batch_size=1),
    *rows("training_subset", partial(data.training_subset, data.blobs(n=30)), "size",
          [(0, "in [1, 18]"), (19, "in [1, 18]")]),
]

# -- schedules and reduce-on-plateau ------------------------------------------------------------

SCHEDULES = [
    *rows("constant", schedules.constant, "value", [(-1.0, "in [0, inf)")], trace=at_step_3),
    Bad("multistep_decay", schedules.multistep_decay, {"init_value": 1.0, "boundaries": [10, -5]},
        "boundaries", "in [0, inf), got -5", shown="-5"),
    *rows("multistep_decay", schedules.multistep_decay, "gamma", [(-0.1, "in [0, inf)")],
          trace=at_step_3, init_value=1.0, boundaries=[10]),
    *rows("step_decay", schedules.step_decay, "total_steps", [(0, "in [1, inf)")],
          trace=at_step_3, init_value=1.0),
    Bad("step_decay", schedules.step_decay,
        {"init_value": 1.0, "total_steps": 100, "fractions": (0.5, 1.5)}, "fractions",
        "in [0, 1], got 1.5", shown="1.5"),
    *rows("exponential_decay", schedules.exponential_decay, "transition_steps",
          [(0.5, "in [1, inf)")], trace=at_step_3, init_value=1.0, decay_rate=0.9),
    *rows("exponential_decay", schedules.exponential_decay, "decay_rate", [(0.0, "in (0, inf)")],
          trace=at_step_3, init_value=1.0, transition_steps=10),
    *rows("cosine_decay", schedules.cosine_decay, "decay_steps", [(0, "in [1, inf)")],
          trace=at_step_3, init_value=1.0),
    *rows("cosine_decay", schedules.cosine_decay, "eta_min", [(-1.0, "in [0, inf)")],
          trace=at_step_3, init_value=1.0, decay_steps=10),
    *rows("linear_decay", schedules.linear_decay, "init_value", [(-1.0, "in [0, inf)")],
          trace=at_step_3, decay_steps=10),
    *rows("inverse_sqrt", schedules.inverse_sqrt, "timescale", [(0.0, "in (0, inf)")],
          trace=at_step_3, init_value=1.0),
    *rows("warmup", partial(schedules.warmup, schedules.constant(1.0)), "warmup_steps",
          [(-1, "in [0, inf)")], trace=at_step_3),
    *rows("sgdr", schedules.sgdr, "first_period", [(0, "in [1, inf)")], trace=at_step_3,
          init_value=1.0),
    *rows("sgdr", schedules.sgdr, "period_multiplier", [(0.5, "in [1, inf)")], init_value=1.0,
          first_period=10),
    *rows("reduce_on_plateau", reduce_on_plateau, "factor", [(1.5, "in [0, 1]")], trace=init),
    *rows("reduce_on_plateau", reduce_on_plateau, "patience",
          [(-1, "in [0, inf)"), (2.5, "an integer in [0, inf)")]),
    *rows("reduce_on_plateau", reduce_on_plateau, "accumulation_size",
          [(0, "in (0, inf)")]),
]

# -- second order and line searches ---------------------------------------------------------------

SECOND_ORDER = [
    *rows("scale_by_newton", second_order.scale_by_newton, "solver",
          [("qr", "one of 'direct', 'cg'")]),
    *rows("scale_by_newton", second_order.scale_by_newton, "cg_max_steps",
          [(0, "in [1, inf)")], solver="cg"),
    *rows("newton", second_order.newton, "damping", [(-1.0, "in [0, inf)")], trace=init),
    *rows("scale_by_lbfgs", second_order.scale_by_lbfgs, "memory_size",
          [(0, "in [1, inf)")]),
    *rows("lbfgs", second_order.lbfgs, "memory_size", [(2.5, "an integer in [1, inf)")]),
    *rows("lbfgs", second_order.lbfgs, "linesearch",
          [("armijo", "one of 'zoom', 'backtracking', None")]),
    *rows("lbfgs", second_order.lbfgs, "learning_rate", [(-1.0, "in [0, inf)")], trace=init),
    *rows("scale_by_backtracking_linesearch", linesearch.scale_by_backtracking_linesearch,
          "max_steps", [(0, "in [1, inf)")]),
    *rows("scale_by_backtracking_linesearch", linesearch.scale_by_backtracking_linesearch,
          "decrease_factor", [(1.0, "in (0, 1)")], trace=init),
    *rows("scale_by_zoom_linesearch", linesearch.scale_by_zoom_linesearch, "increase_factor",
          [(1.0, "in (1, inf)")], trace=init),
    *rows("scale_by_zoom_linesearch", linesearch.scale_by_zoom_linesearch, "curvature_rtol",
          [(1.0, "in (0, 1)")], trace=init),
]

# -- gradient checks ------------------------------------------------------------------------------

QUADRATIC = lambda w: jnp.sum(w ** 2)
GRADCHECK = [
    *rows("gradcheck", partial(gradcheck, QUADRATIC, jnp.ones(3)), "eps",
          [(0.0, "in (0, inf)")]),
    *rows("gradcheck", partial(gradcheck, QUADRATIC, jnp.ones(3)), "order",
          [(3, "in [1, 2]")]),
    *rows("gradcheck", partial(gradcheck, QUADRATIC, jnp.ones(3)), "num_checks",
          [(0, "in [1, inf)")]),
    *rows("gradcheck", partial(gradcheck, QUADRATIC, jnp.ones(3)), "rtol",
          [(-1.0, "in (0, inf)")]),
]

# -- models, losses, training ---------------------------------------------------------------------

TINY = data.blobs(n=30)
MODELS = [
    Bad("MLP", models.MLP, {"in_features": 0, "widths": (4,), "num_classes": 3,
                            "rngs": nnx.Rngs(0)}, "in_features", "in [1, inf)"),
    Bad("MLP", models.MLP, {"in_features": 2, "widths": (4, 0), "num_classes": 3,
                            "rngs": nnx.Rngs(0)}, "widths[1]", "in [1, inf)",
        arg="widths", shown="0"),
    *rows("l1", partial(losses.l1, PARAMS), "strength", [(-1.0, "in [0, inf)")], trace=itself),
    *rows("l2", partial(losses.l2, PARAMS), "strength", [(NAN, "in [0, inf)")], trace=itself),
    *rows("elastic_net", partial(losses.elastic_net, PARAMS, 0.1), "l1_ratio",
          [(1.5, "in [0, 1]")], trace=itself),
    *rows("train", partial(train, None, jl.sgd(0.1), TINY, KEY), "steps",
          [(0, "in [1, inf)")], batch_size=8),
    *rows("train", partial(train, None, jl.sgd(0.1), TINY, KEY), "batch_size",
          [(TINY.train_size + 1, f"in [1, {TINY.train_size}]")], steps=5),
    *rows("evaluation_steps", evaluation_steps, "eval_every",
          [(0, "in [1, inf)")], steps=10),
]

# -- regularizers: strengths (traceable), image shapes, datasets without images -----------------

X_FLAT, IMAGES_8 = jnp.zeros((4, 64)), jnp.zeros((4, 8, 8))
ONE_HOT = jnp.eye(3)
DIGITS_LIKE = TINY._replace(name="digits-like", image_shape=(8, 8))
REGULARIZERS = [
    *rows("dropout", partial(dropout, X_FLAT, KEY), "rate",
          [(1.0, "in [0, 1)"), (-0.1, "in [0, 1)"), (NAN, "in [0, 1)")], trace=itself),
    *rows("mixup", partial(mixup, X_FLAT[:3], ONE_HOT, KEY), "alpha",
          [(-0.5, "in [0, inf)"), (INF, "in [0, inf)")], trace=itself),
    *rows("smooth_labels", partial(smooth_labels, ONE_HOT), "epsilon", [(1.5, "in [0, 1]")],
          trace=itself),
    *rows("cutout", partial(augment.cutout, IMAGES_8, KEY), "size",
          [(9, "in [0, 8]"), (-1, "in [0, 8]")], trace=itself),
    *rows("cutout", partial(augment.cutout, IMAGES_8, KEY, 3), "count",
          [(-1, "in [0, inf)"), (1.5, "an integer in [0, inf)")]),
    *rows("translate", partial(augment.translate, IMAGES_8, KEY), "max_shift",
          [(8, "in [0, 7]")], trace=itself),
    *rows("rotate", partial(augment.rotate, IMAGES_8, KEY), "max_degrees",
          [(200.0, "in [0, 180]")], trace=itself),
    *rows("flip_horizontal", partial(augment.flip_horizontal, IMAGES_8, KEY), "probability",
          [(1.5, "in [0, 1]")], trace=itself),
    *[Bad(call, fn, {"images": X_FLAT, **extra}, "images",
          "a batch of images of shape (batch, height, width), got shape (4, 64)", shown="...")
      for call, fn, extra in [("translate", augment.translate, {"key": KEY, "max_shift": 1}),
                              ("rotate", augment.rotate, {"key": KEY, "max_degrees": 10}),
                              ("cutout", augment.cutout, {"key": KEY, "size": 2}),
                              ("flip_horizontal", augment.flip_horizontal,
                               {"key": KEY, "probability": 0.5})]],
    *[Bad("Regularization", lambda data, **field: Regularization(**field).check(data),
          {"data": data_, name: value}, name, fragment)
      for data_, name, value, fragment in [
          (TINY, "dropout", 1.0, "in [0, 1)"), (TINY, "mixup", -1.0, "in [0, inf)"),
          (TINY, "label_smoothing", 2.0, "in [0, 1]"),
          (DIGITS_LIKE, "cutout_size", 9, "in [0, 8]"),
          (DIGITS_LIKE, "max_shift", 8, "in [0, 7]"),
          (DIGITS_LIKE, "cutout_count", 0.5, "an integer in [0, inf)"),
          (TINY, "max_shift", 1, "None for 'blobs', which holds no images (2 features"),
          (TINY, "flip", 0.5, "None for 'blobs', which holds no images")]],
    Bad("EarlyStopping", lambda **k: EarlyStopping(**k).check(), {"patience": 0}, "patience",
        "in [1, inf]"),
    Bad("EarlyStopping", lambda **k: EarlyStopping(**k).check(), {"patience": 3, "min_delta": -1.0},
        "min_delta", "in [0, inf)"),
]

# -- theory: its functions raise with "call: ..." messages, listed under NONSTANDARD below --------

# -- search spaces (the sweep's --param) and data splits -------------------------------------------

SEARCH_SPACE = [
    Bad("parse_axis", search_space.parse_axis, {"text": text}, param, fragment, shown="...")
    for text, param, fragment in [
        ("loguniform:0:1:5", "low", "in (0, inf) for loguniform"),
        ("uniform:1:0:5", "high", "above low = 1"),
        ("loguniform:1e-4:1e-1:0", "n", "an integer in [1, inf)"),
        ("a,b", "values", "finite numbers"),
        ("inf", "values", "finite numbers"),
        ("1,1", "values", "distinct"),
        ("loguniform:1:2", "text", "loguniform:low:high:n"),
        ("loggrid:-1:1:5", "low", "in (0, inf) for loggrid"),
    ]] + [  # parse_space's messages name the option as typed (--param NAME=AXIS): test_space.py
    Bad("configurations", search_space.configurations,
        {"space": {"a": search_space.LogUniform(1e-3, 1, 8), "b": search_space.Uniform(0, 1, 4)}},
        "draws", "one number for every random axis", shown="..."),
    Bad("configurations", search_space.configurations,
        {"space": {"a": search_space.Uniform(0, 1, 4)}, "method": "sobol"}, "method",
        "one of random, quasi-random"),
    Bad("tpe_search", partial(jl.sweeps.tpe_search, lambda h, k: {}, {}, [0], None),
        {"batch_size": 0}, "batch_size", "an integer in [1, inf)"),
    Bad("split", partial(data.split, "s", X_SMALL, Y_SMALL, 0, 0.5), {"test_fraction": 0.6},
        "test_fraction", "in [0, 0.5)"),
]

# -- the rest: models, line searches, gradient checks, theory -----------------------------------

OTHERS = [
    Bad("MLP", partial(models.MLP, 2, (4,), 3, rngs=nnx.Rngs(0)), {"activation": "gelu"},
        "activation", "one of sigmoid, tanh, relu"),
    Bad("scale_by_zoom_linesearch", partial(linesearch.scale_by_zoom_linesearch,
                                            curvature_rtol=0.4), {"slope_rtol": 0.5},
        "slope_rtol", "below curvature_rtol = 0.4"),
    Bad("gradcheck", partial(gradcheck, QUADRATIC, jnp.ones(3), num_checks=2),
        {"num_directions": 2}, "num_directions", "None when num_checks is given"),
    Bad("gd_rate", partial(theory.gd_rate, 0.1), {"eigenvalues": []}, "eigenvalues",
        "a non-empty spectrum", shown="..."),
    Bad("gd_rate", partial(theory.gd_rate, 0.1), {"eigenvalues": [1.0, NAN]}, "eigenvalues",
        "finite", shown="..."),
    Bad("gd_optimal", theory.gd_optimal, {"eigenvalues": [0.0, 1.0]}, "eigenvalues",
        "in (0, inf)", shown="..."),
    Bad("measured_rate", theory.measured_rate, {"errors": [1.0, -1.0]}, "errors", "in [0, inf)",
        shown="..."),
]

TABLE_ROWS = (OPTIMIZERS + BLOCKS + VELOCITY_FORMS + RELIABILITY + DATA + SCHEDULES
              + SECOND_ORDER + GRADCHECK + MODELS + REGULARIZERS + SEARCH_SPACE + OTHERS)
IDS = [f"{row.call}-{row.arg or row.param}={row.shown or repr(row.value)}"[:80]
       for row in TABLE_ROWS]


def test_the_table_is_large_and_covers_every_optimizer():
  assert len(TABLE_ROWS) >= 60
  assert {row.call for row in TABLE_ROWS} >= set(TABLE)


@pytest.mark.parametrize("row", TABLE_ROWS, ids=IDS)
def test_bad_input_raises_the_standard_message(row):
  with pytest.raises(ValueError) as error:
    row.fn(**row.kwargs)
  message = str(error.value)
  parts = STANDARD.match(message)
  assert parts, f"not call(param=value): param must be <range>, got value: {message!r}"
  assert parts["call"] == row.call and parts["param"] == row.param, message
  shown = row.shown or repr(row.value)
  assert f"{row.param}={shown}" in parts["args"] or shown == "...", message
  assert row.fragment in message, message
  assert shown == "..." or parts["got"].startswith(shown), message


TRACEABLE = [row for row in TABLE_ROWS if row.trace is not None]


@pytest.mark.parametrize("row", TRACEABLE, ids=[IDS[TABLE_ROWS.index(r)] for r in TRACEABLE])
def test_the_same_value_traced_is_accepted(row):
  """Inside jit the value is unknown at construction: the factory must trace, not raise."""
  key = row.arg or row.param
  use = lambda value: row.trace(row.fn(**{**row.kwargs, key: value}))
  jax.eval_shape(use, jnp.float32(row.value))  # no error


def test_schedules_are_accepted_unchecked():
  """A schedule is a function of the step; it is not checked at construction."""
  jl.adam(lambda step: -1.0)


# -- sweep CLI: the study's options, each bad value one ValueError naming the flag ---------------

def sweep_args(flags, out):
  parser = argparse.ArgumentParser()
  parser.add_argument("--out", default=str(out))
  parser.add_argument("--quick", action="store_true")
  sweep_study.add_arguments(parser)
  return parser.parse_args(["--quick", *flags])


SWEEP_CLI = [  # (flags, the flag named, the bad value as written, the valid range)
    (["--steps", "0"], "--steps", "0", "must be a positive integer"),
    (["--batch-size", "0"], "--batch-size", "0", "must be a positive integer"),
    (["--seeds", "0"], "--seeds", "0", "must be a positive integer"),
    (["--top-k", "0"], "--top-k", "0", "must be a positive integer"),
    (["--refine", "-1"], "--refine", "-1", "must be an integer in [0, 100]"),
    (["--memory-gb", "0"], "--memory-gb", "0", "must be positive"),
    (["--dataset", "quadratic", "--condition-number", "0.5"], "--condition-number", "0.5",
     "must be a number in [1, "),
    (["--optimizer", "shampoo"], "--optimizer", "shampoo", "choose from"),
    (["--widths", "a,b"], "--widths", "a,b", "expected integers"),
]


@pytest.mark.parametrize("flags,flag,value,expected", SWEEP_CLI, ids=[c[1] for c in SWEEP_CLI])
def test_sweep_cli_rejects_bad_options_before_running(flags, flag, value, expected, tmp_path):
  with pytest.raises(ValueError) as error:
    sweep_study.main(sweep_args(flags, tmp_path))
  message = str(error.value)
  assert message.startswith(flag) and value in message and expected in message, message
  assert "\n" not in message and not any(tmp_path.iterdir())
