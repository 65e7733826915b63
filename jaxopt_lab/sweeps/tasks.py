"""The built-in sweep tasks, as pure runs (hparams, key) -> metrics.

- `digits_training`: the one digits-training task every study and the CLI sweep use: a flax
  MLP on sklearn's digits, one instance of `supervised.supervised_task` (bring your own model
  and data), with the optimizer and penalty built from a row of hyperparameters by the
  caller's `build`, and the regularizers the row names (`supervised.REGULARIZERS`: dropout,
  augmentation, mixup, label smoothing, early stopping's patience) applied by the training
  loop. Selection is on the validation accuracy; `test` scores the test set for one chosen
  configuration.
- `digits_task`: what `jaxopt-lab sweep` trains: a named optimizer on `digits_training`; any
  keyword of the optimizer factory, penalty strengths `l1` and `l2`, the regularizers and the
  schedule's own parameters (`eta_min`, `warmup_steps`, `decay_rate`) can be swept.
- `quadratic_task`: an optimizer on f(w) = 1/2 w^T H w with a chosen spectrum, the setting of
  the convergence theory; the objective is the final loss.
"""
import inspect
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab._validation import is_concrete
from jaxopt_lab.optim import schedules
from jaxopt_lab.optim.aliases import BY_NAME
from jaxopt_lab.sweeps.objective import Objective, Task
from jaxopt_lab.sweeps.supervised import CLASSIFICATION, supervised_task
from jaxopt_lab.train import losses
from jaxopt_lab.train.data import digits, training_subset
from jaxopt_lab.train.models import MLP

SCHEDULES = {
    # name: (hyperparameters it reads beyond learning_rate, their defaults)
    "constant": {},
    "cosine": {"eta_min": 0.0},
    "warmup_cosine": {"warmup_steps": 50.0, "eta_min": 0.0},
    "exponential": {"decay_rate": 0.995},
    "step": {},
}


def optimizer_hyperparameters(optimizer: str) -> tuple:
  """The keywords of an optimizer factory a sweep may vary: those with a float default, or
  none (a learning rate); not flags, masks, or integer counts (Newton-Schulz steps, warmup
  steps, which a schedule's own options cover)."""
  if optimizer not in BY_NAME:
    raise ValueError(f"--optimizer {optimizer}: unknown; choose from {', '.join(BY_NAME)}")
  parameters = inspect.signature(BY_NAME[optimizer]).parameters.values()
  return tuple(p.name for p in parameters if p.default is p.empty or isinstance(p.default, float))


def check_space(task: Task, columns: dict, optimizer: str):
  """Every swept name is one the task reads, and every concrete value is one the optimizer
  accepts (its own check, e.g. `adam(b1=1.0): b1 must be in [0, 1), got 1.0`)."""
  unknown = [name for name in columns if name not in task.hyperparameters]
  if unknown:
    raise ValueError(f"--param {unknown[0]}: not a hyperparameter of {task.name}; choose from "
                     f"{', '.join(task.hyperparameters)}")
  if "learning_rate" not in columns:
    raise ValueError("--param learning_rate=... is required")
  factory_names = optimizer_hyperparameters(optimizer)
  for name, values in columns.items():
    for value in (float(np.min(values)), float(np.max(values))):
      if name in factory_names:
        BY_NAME[optimizer](**{"learning_rate": 1e-3, name: value})
      elif task.check_value is not None:
        task.check_value(name, value)
      elif value < 0 or not np.isfinite(value):
        raise ValueError(f"{task.name}({name}={value:g}): {name} must be in [0, inf), "
                         f"got {value:g}")


def learning_rate_schedule(name: str, hparams: dict, steps: int):
  if name not in SCHEDULES:
    raise ValueError(f"--schedule {name}: unknown; choose from {', '.join(SCHEDULES)}")
  rate = hparams["learning_rate"]
  value = lambda key: hparams.get(key, SCHEDULES[name].get(key))
  if name == "cosine":
    return schedules.cosine_decay(rate, steps, value("eta_min"))
  if name == "warmup_cosine":
    warmup = value("warmup_steps")
    check_warmup(warmup, steps, "digits_task(schedule='warmup_cosine', steps=" f"{steps})")
    return schedules.warmup(schedules.cosine_decay(rate, steps - warmup, value("eta_min")), warmup)
  if name == "exponential":
    return schedules.exponential_decay(rate, 1, value("decay_rate"))
  if name == "step":
    return schedules.step_decay(rate, steps)
  return rate


def check_warmup(warmup, steps: int, call: str) -> None:
  """A concrete warmup must end before the run does (a tracer, swept, is checked by the CLI)."""
  if is_concrete(warmup) and not 0 <= float(warmup) < steps:
    raise ValueError(f"{call}: warmup_steps must be in [0, {steps}) (the warmup must end "
                     f"before the run does), got {float(warmup):g}")


DIGITS_OBJECTIVE = CLASSIFICATION


def digits_training(build: Callable, *, hyperparameters: tuple = (), name: str = "digits",
                    widths=(64,), activation: str = "relu", steps: int = 500,
                    batch_size: int = 64, eval_every: int = 25, data_seed: int = 0,
                    train_size: Optional[int] = None, test_metrics: bool = False,
                    train_set_metrics: bool = False) -> Task:
  """An MLP (64 -> widths -> 10, `activation`) trained on digits for `steps` minibatch steps
  by `build(hparams) -> (optimizer, penalty or None)`, with the regularizers the row of
  hyperparameters names (each a traced strength, so one sweep covers many), on the first
  `train_size` training examples (default: all 1077): `supervised.supervised_task` on the
  digits arrays, whose docstring lists the run's metrics (train_set_metrics, test_metrics).
  """
  data = digits(data_seed)
  if train_size is not None:
    data = training_subset(data, train_size)
  widths = tuple(int(w) for w in widths)

  def make_model(rngs):
    return MLP(64, widths, data.num_classes, activation, rngs=rngs)

  return supervised_task(make_model, lambda hparams: build(hparams)[0], data, steps=steps,
                         batch_size=batch_size, eval_every=eval_every,
                         penalty=lambda hparams: build(hparams)[1],
                         hyperparameters=hyperparameters, name=name, objective=DIGITS_OBJECTIVE,
                         test_metrics=test_metrics, train_set_metrics=train_set_metrics)


def digits_task(optimizer: str, *, widths=(64,), activation: str = "relu", steps: int = 500,
                batch_size: int = 64, eval_every: int = 25, schedule: str = "constant",
                data_seed: int = 0, train_size: Optional[int] = None) -> Task:
  """`optimizer` (a name of `BY_NAME`) under `schedule`, with optional penalties `l1` and `l2`
  (lambda |W| and lambda |W|^2 on the weight matrices) and the regularizers, on
  `digits_training` (its first `train_size` training examples, default all): the task
  `jaxopt-lab sweep` trains."""
  factory_names = optimizer_hyperparameters(optimizer)
  if schedule not in SCHEDULES:
    raise ValueError(f"--schedule {schedule}: unknown; choose from {', '.join(SCHEDULES)}")

  def build(hparams):
    options = {k: v for k, v in hparams.items() if k in factory_names and k != "learning_rate"}
    rate = learning_rate_schedule(schedule, hparams, steps)
    penalties = [(getattr(losses, kind), hparams[kind]) for kind in ("l1", "l2")
                 if kind in hparams]
    penalty = (lambda w: sum(term(w, strength) for term, strength in penalties)) \
        if penalties else None
    return BY_NAME[optimizer](rate, **options), penalty

  widths = tuple(int(w) for w in widths)
  label = f"digits-mlp{'-'.join(map(str, widths))}-{activation}-{optimizer}-{schedule}-{steps}"
  label += "" if train_size is None else f"-train{train_size}"
  names = factory_names + ("l1", "l2") + tuple(SCHEDULES[schedule])
  return digits_training(build, hyperparameters=names, name=label, widths=widths,
                         activation=activation, steps=steps, batch_size=batch_size,
                         eval_every=eval_every, data_seed=data_seed, train_size=train_size)


def quadratic_task(optimizer: str, eigenvalues, *, steps: int = 200) -> Task:
  """`optimizer` on f(w) = 1/2 sum_i lambda_i w_i^2 from a random start of unit norm; the
  curves are the loss f(w_k) and the distance |w_k - w*| = |w_k| after each step."""
  factory_names = optimizer_hyperparameters(optimizer)
  eigenvalues = jnp.asarray(eigenvalues, jnp.float32)

  def run(hparams, key):
    optimizer_ = BY_NAME[optimizer](**{k: v for k, v in hparams.items() if k in factory_names})
    w = jax.random.normal(key, eigenvalues.shape)
    w = w / jnp.linalg.norm(w)
    loss = lambda w: 0.5 * jnp.sum(eigenvalues * w ** 2)

    def step(carry, _):
      w, state = carry
      updates, state = optimizer_.update(eigenvalues * w, state, w)
      w = optax.apply_updates(w, updates)
      return (w, state), (loss(w), jnp.linalg.norm(w))

    losses, distances = jax.lax.scan(step, (w, optimizer_.init(w)), length=steps)[1]
    return {"train_loss": losses, "distance": distances}

  label = f"quadratic-{eigenvalues.size}-{optimizer}-{steps}"
  objective = Objective("final_train_loss", maximize=False, divergence_curves=("train_loss",))
  return Task(label, run, objective, factory_names, None)
