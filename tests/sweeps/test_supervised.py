"""Bring your own: the README's example (an optax optimizer over the user's own nnx model)
prints what the README shows; arrays are checked in one line."""
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.sweeps.supervised import REGULARIZERS
from jaxopt_lab.train import MLP

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_example_prints_what_the_readme_shows():
  text = README.read_text()
  section = text[text.index("**Bring your own model and optimizer.**"):]
  code, shown = re.search(r"```python\n(.*?)```\n\nprints\n\n```\n(.*?)```", section,
                          re.S).groups()
  printed = io.StringIO()
  with contextlib.redirect_stdout(printed):
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
  assert printed.getvalue() == shown


X = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
Y = np.arange(40) % 3
MODEL = lambda rngs: MLP(2, (4,), 3, "relu", rngs=rngs)
SGD = lambda h: optax.sgd(h["learning_rate"])


@pytest.mark.parametrize("data, message", [
    ((X, Y), "supervised_task(data=...): the train set must be a pair (x_train, y_train), got "
             "ndarray"),
    (((X, Y),), "supervised_task(data=...): data must be a Dataset or ((x_train, y_train), "
                "(x_val, y_val)[, (x_test, y_test)]), got tuple"),
    (((X, Y), (X, Y.astype(np.float32))), "supervised_task(data=...): y_val must hold integer "
                                          "class labels, one per row of x_val (40, 2), got "
                                          "float32 (40,)"),
    (((X, Y), (X, Y[:10])), "y_val must hold integer class labels, one per row of x_val "
                            "(40, 2), got int64 (10,)"),
    (((X * np.nan, Y), (X, Y)), "supervised_task(data=...): x_train must be finite"),
    (((X, Y), (X[:, :1], Y)), "supervised_task(data=...): every set's rows must have one "
                              "shape, got [(2,), (1,)]"),
])
def test_bad_arrays_are_one_line(data, message):
  with pytest.raises(ValueError) as error:
    jl.sweeps.supervised_task(MODEL, SGD, data, steps=4, batch_size=8)
  assert message in str(error.value) and "\n" not in str(error.value)


def test_bad_options_are_one_line():
  data = ((X, Y), (X, Y))
  cases = {"supervised_task(batch_size=41): batch_size must be in [1, 40], got 41":
           dict(steps=4, batch_size=41),
           "supervised_task(steps=0): steps must be in [1, inf), got 0":
           dict(steps=0, batch_size=8, eval_every=1),
           "supervised_task(test_metrics=True): test_metrics needs a test set":
           dict(steps=4, batch_size=8, test_metrics=True)}
  for message, options in cases.items():
    with pytest.raises(ValueError) as error:
      jl.sweeps.supervised_task(MODEL, SGD, data, **options)
    assert str(error.value).startswith(message), str(error.value)


def test_arrays_become_a_dataset_and_two_sets_mean_no_test():
  task = jl.sweeps.supervised_task(MODEL, SGD, ((X, Y), (X[:9], Y[:9])), steps=40,
                                   batch_size=8)
  assert task.test is None and task.eval_steps.tolist() == list(range(2, 41, 2))
  assert task.hyperparameters == REGULARIZERS  # none declared: the regularizers only
  with_test = jl.sweeps.supervised_task(MODEL, SGD, ((X, Y), (X, Y), (X, Y)), steps=4,
                                        batch_size=8)
  assert with_test.test is not None and with_test.init is not None
