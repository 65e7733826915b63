"""The built-in sweep tasks, as pure runs (hparams, key) -> metrics.

- `digits_training`: the one digits-training task every study and the CLI sweep use: a flax
  MLP on sklearn's digits trained by `jaxopt_lab.train.train`, with the optimizer and penalty
  built from a row of hyperparameters by the caller's `build`, and the regularizers the row
  names (`REGULARIZERS`: dropout, augmentation, mixup, label smoothing, early stopping's
  patience) applied by the training loop. Selection is on the validation accuracy; `test`
  scores the test set for one chosen configuration.
- `digits_task`: what `jaxopt-lab sweep` trains: a named optimizer on `digits_training`; any
  keyword of the optimizer factory, penalty strengths `l1` and `l2`, the regularizers and the
  schedule's own parameters (`eta_min`, `warmup_steps`, `decay_rate`) can be swept.
- `quadratic_task`: an optimizer on f(w) = 1/2 w^T H w with a chosen spectrum, the setting of
  the convergence theory; the objective is the final loss.
"""
import inspect
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab._validation import NONNEGATIVE, check, is_concrete
from jaxopt_lab.optim import schedules
from jaxopt_lab.train import losses
from jaxopt_lab.train.data import digits, training_subset
from jaxopt_lab.train.early_stopping import EarlyStopping
from jaxopt_lab.train.models import MLP
from jaxopt_lab.optim.aliases import BY_NAME
from jaxopt_lab.sweeps.objective import Objective
from jaxopt_lab.train.loop import TrainResult, evaluation_steps, run_curves, train
from jaxopt_lab.train.losses import is_weight
from jaxopt_lab.train.regularizers import Regularization

SCHEDULES = {
    # name: (hyperparameters it reads beyond learning_rate, their defaults)
    "constant": {},
    "cosine": {"eta_min": 0.0},
    "warmup_cosine": {"warmup_steps": 50.0, "eta_min": 0.0},
    "exponential": {"decay_rate": 0.995},
    "step": {},
}


REGULARIZERS = (*Regularization._fields, "patience")
"""The regularizers a `digits_training` run applies when its row of hyperparameters names
them: the fields of `jaxopt_lab.train.regularizers.Regularization`, and `patience`, which
turns on early stopping (`jaxopt_lab.train.early_stopping.EarlyStopping`)."""


class Task(NamedTuple):
  name: str
  run: Callable                 # (hparams: name -> scalar, key) -> metrics
  objective: Objective
  hyperparameters: tuple        # names the run accepts
  test: Optional[Callable]      # (hparams: name -> float, seeds) -> test metrics, or None
  eval_steps: Optional[np.ndarray] = None  # steps at which the validation curves are taken
  check_value: Optional[Callable] = None   # (name, concrete value) -> None or ValueError,
                                           # for names other than the optimizer's


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


DIGITS_OBJECTIVE = Objective("best_val_accuracy", True, tiebreak="best_val_loss",
                             maximized_curves=("val_accuracy",),
                             divergence_curves=("train_loss", "val_loss"))


def digits_training(build: Callable, *, hyperparameters: tuple = (), name: str = "digits",
                    widths=(64,), activation: str = "relu", steps: int = 500,
                    batch_size: int = 64, eval_every: int = 25, data_seed: int = 0,
                    train_size: Optional[int] = None, test_metrics: bool = False,
                    train_set_metrics: bool = False) -> Task:
  """An MLP (64 -> widths -> 10, `activation`) trained on digits for `steps` minibatch steps
  by `build(hparams) -> (optimizer, penalty or None)`, with the `REGULARIZERS` the row of
  hyperparameters names (each a traced strength, so one sweep covers many), on the first
  `train_size` training examples (default: all 1077).

  The run returns the curves train_loss [steps], val_loss and val_accuracy [evaluations],
  and how training went, per evaluation: update_ratio_1, ..., update_ratio_L (each weight
  matrix's ||update|| / ||W||, input layer first), dead_relu_1, ... (each hidden layer's
  fraction of units silent on the whole validation set) and nonfinite_steps; with
  early stopping (`patience`), the scalars best_step and stopped_step. With
  `train_set_metrics`, also train_set_loss and train_set_accuracy [evaluations] (the whole
  training set, evaluation mode). With `test_metrics`, the final test_accuracy, test_loss,
  test_precision and test_recall [classes], the weight matrices' norm weight_norm, and the
  validation metrics of the parameters the run keeps (the best ones under early stopping)
  kept_val_loss, kept_val_accuracy, kept_val_recall [classes] (and kept_train_loss with
  `train_set_metrics`), for studies that report every run's test score next to the one
  chosen on validation.
  """
  data = digits(data_seed)
  if train_size is not None:
    data = training_subset(data, train_size)
  widths = tuple(int(w) for w in widths)

  def make_model(rngs):
    return MLP(64, widths, data.num_classes, activation, rngs=rngs)

  def fit(hparams, key) -> TrainResult:
    optimizer, penalty = build(hparams)
    regularization = Regularization.from_hparams(hparams)
    stopping = EarlyStopping(hparams["patience"]) if "patience" in hparams else None
    return train(make_model, optimizer, data, key, steps=steps, batch_size=batch_size,
                 eval_every=eval_every, penalty=penalty, regularization=regularization,
                 early_stopping=stopping, train_set_metrics=train_set_metrics)

  def run(hparams, key):
    result = fit(hparams, key)
    metrics = run_curves(result)
    if "patience" in hparams:
      metrics.update(best_step=result.best_step, stopped_step=result.stopped_step)
    if test_metrics:
      weights = [w for w in jax.tree.leaves(result.params) if is_weight(w)]
      metrics.update(test_accuracy=result.test.accuracy, test_loss=result.test.loss,
                     test_precision=result.test.precision, test_recall=result.test.recall,
                     weight_norm=jnp.sqrt(sum(jnp.sum(w ** 2) for w in weights)),
                     kept_val_loss=result.val.loss, kept_val_accuracy=result.val.accuracy,
                     kept_val_recall=result.val.recall)
      if train_set_metrics:
        metrics.update(kept_train_loss=result.train_set.loss)
    return metrics

  def test(hparams, seeds):
    hparams = {k: jnp.float32(v) for k, v in hparams.items()}
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))
    accuracies = np.asarray(jax.jit(jax.vmap(lambda key: fit(hparams, key).test.accuracy))(keys))
    return {"test_accuracy_mean": float(np.mean(accuracies)),
            "test_accuracy_per_seed": ", ".join(f"{a:.4f}" for a in accuracies)}

  def check_value(hparam: str, value: float):
    if hparam == "patience":
      EarlyStopping(value).check()
    elif hparam in Regularization._fields:
      Regularization(**{hparam: value}).check(data, call=name)
    else:
      check(name, **{hparam: (value, NONNEGATIVE)})

  names = tuple(hyperparameters) + tuple(r for r in REGULARIZERS if r not in hyperparameters)
  return Task(name, run, DIGITS_OBJECTIVE, names, test, evaluation_steps(steps, eval_every),
              check_value)


def digits_task(optimizer: str, *, widths=(64,), activation: str = "relu", steps: int = 500,
                batch_size: int = 64, eval_every: int = 25, schedule: str = "constant",
                data_seed: int = 0) -> Task:
  """`optimizer` (a name of `BY_NAME`) under `schedule`, with optional penalties `l1` and `l2`
  (lambda |W| and lambda |W|^2 on the weight matrices) and the `REGULARIZERS`, on
  `digits_training`: the task `jaxopt-lab sweep` trains."""
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
  names = factory_names + ("l1", "l2") + tuple(SCHEDULES[schedule])
  return digits_training(build, hyperparameters=names, name=label, widths=widths,
                         activation=activation, steps=steps, batch_size=batch_size,
                         eval_every=eval_every, data_seed=data_seed)


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
