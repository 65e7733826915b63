"""Bring your own: a sweep task that trains any flax nnx model on your arrays.

  task = supervised_task(lambda rngs: MyModel(rngs=rngs),              # model factory
                         lambda h: optax.lion(h["learning_rate"], b1=h["b1"]),  # optimizer
                         ((x_train, y_train), (x_val, y_val)), steps=300, batch_size=32)
  result = run_sweep(task.run, {"learning_rate": ..., "b1": ...}, seeds=[0, 1],
                     objective=task.objective)

The run is `jaxopt_lab.train.training`'s minibatch loop (per-epoch shuffling, validation every
`eval_every` steps, the curves `jaxopt_lab.diagnostics.diagnose` reads), with the optimizer
built from the row of hyperparameters by the caller, so every swept value is a tracer and
one compiled program serves them all. The regularizers a row names (`REGULARIZERS`: dropout,
augmentation, mixup, label smoothing, early stopping's patience) apply as in `train`. The
task is resumable (`Task.init`, `Task.advance`), so `successive_halving` can stop and
continue any run; the built-in digits task (`tasks.digits_training`) is one instance.
"""
from typing import Callable, Optional, Union

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab._validation import NONNEGATIVE, Interval, check, check_int
from jaxopt_lab.sweeps.objective import Objective, Task
from jaxopt_lab.train.data import Dataset
from jaxopt_lab.train.early_stopping import EarlyStopping
from jaxopt_lab.train.loop import evaluation_steps, run_curves, segment_curves, training
from jaxopt_lab.train.losses import is_weight, softmax_cross_entropy
from jaxopt_lab.train.regularizers import Regularization

CLASSIFICATION = Objective("best_val_accuracy", True, tiebreak="best_val_loss",
                           maximized_curves=("val_accuracy",),
                           divergence_curves=("train_loss", "val_loss"))
"""Choose by the best validation accuracy of a run's evaluations, ties by the validation loss;
a NaN/Inf training or validation loss flags a diverged run."""

REGULARIZERS = (*Regularization._fields, "patience")
"""The regularizers a supervised run applies when its row of hyperparameters names them: the
fields of `jaxopt_lab.train.regularizers.Regularization`, and `patience`, which turns on
early stopping (`jaxopt_lab.train.early_stopping.EarlyStopping`)."""

COUNT = Interval(1, np.inf)


def as_dataset(data, call: str = "supervised_task") -> Dataset:
  """`data` as a `Dataset`: one already, or ((x_train, y_train), (x_val, y_val)) with an
  optional third pair (x_test, y_test); x [n, ...] float, y int class labels [n]. Without a
  test pair the validation pair stands in for it (and the task has no `test`)."""
  if isinstance(data, Dataset):
    return data
  if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
    raise ValueError(f"{call}(data=...): data must be a Dataset or ((x_train, y_train), "
                     f"(x_val, y_val)[, (x_test, y_test)]), got {type(data).__name__}")
  pairs = []
  for part, pair in zip(("train", "val", "test"), data):
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
      raise ValueError(f"{call}(data=...): the {part} set must be a pair (x_{part}, "
                       f"y_{part}), got {type(pair).__name__}")
    x, y = np.asarray(pair[0]), np.asarray(pair[1])
    if x.ndim < 1 or y.shape != x.shape[:1] or not np.issubdtype(y.dtype, np.integer):
      raise ValueError(f"{call}(data=...): y_{part} must hold integer class labels, one per "
                       f"row of x_{part} {x.shape}, got {y.dtype} {y.shape}")
    if x.shape[0] == 0 or not np.all(np.isfinite(x)) or y.min() < 0:
      raise ValueError(f"{call}(data=...): x_{part} must be finite with at least one row and "
                       f"y_{part} labels >= 0, got {x.shape[0]} rows")
    pairs.append((jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32)))
  if len({p[0].shape[1:] for p in pairs}) > 1:
    raise ValueError(f"{call}(data=...): every set's rows must have one shape, got "
                     f"{[tuple(p[0].shape[1:]) for p in pairs]}")
  (x_train, y_train), (x_val, y_val), (x_test, y_test) = (pairs + [pairs[1]])[:3]
  classes = int(max(int(p[1].max()) for p in pairs)) + 1
  return Dataset("arrays", x_train, y_train, x_val, y_val, x_test, y_test, classes)


def supervised_task(model: Callable, optimizer: Callable, data: Union[Dataset, tuple], *,
                    steps: int, batch_size: int, eval_every: Optional[int] = None,
                    loss: Callable = softmax_cross_entropy, penalty: Optional[Callable] = None,
                    hyperparameters: tuple = (), name: str = "supervised",
                    objective: Objective = CLASSIFICATION, test_metrics: bool = False,
                    train_set_metrics: bool = False,
                    check_value: Optional[Callable] = None) -> Task:
  """A `Task` training `model(rngs) -> nnx.Module` (parameters only: no batch statistics)
  with `optimizer(hparams) -> optax.GradientTransformation` (ours, optax's or a chain) for
  `steps` minibatch steps of `batch_size` examples, validating every `eval_every` steps
  (default: 20 evaluations) and after the last.

  data: a `jaxopt_lab.train.Dataset` or ((x_train, y_train), (x_val, y_val)[, (x_test,
  y_test)]) with x float [n, ...] and y int class labels [n]. loss(logits, labels, weights)
  -> scalar (a weighted mean; the default is softmax cross-entropy). penalty(hparams) ->
  (params -> scalar) or None is added to the objective the optimizer sees (e.g.
  `lambda h: lambda p: jl.train.losses.l2(p, h["l2"])`). `hyperparameters` names what the
  run reads (the CLI checks swept names against it; `REGULARIZERS` are always accepted).

  The run's metrics (`Task.run`, for `run_sweep`): train_loss [steps]; val_loss,
  val_accuracy, nonfinite_steps, update_ratio_1..L and dead_relu_1..H [evaluations] (see
  `jaxopt_lab.train.run_curves`); with `train_set_metrics` also train_set_loss and
  train_set_accuracy [evaluations]; with early stopping (`patience` swept) the scalars
  best_step and stopped_step; with `test_metrics` the final test_accuracy, test_loss,
  test_precision and test_recall [classes], weight_norm, and the kept parameters' validation
  metrics kept_val_loss, kept_val_accuracy, kept_val_recall [classes] (and kept_train_loss).
  `Task.init` and `Task.advance` give the same run in resumable pieces (state: parameters,
  optimizer state, the epoch's shuffle, early stopping, key). Raises ValueError (one line)
  for steps, batch_size or eval_every that are not positive integers, a batch larger than
  the training set, or malformed arrays.
  """
  has_test = isinstance(data, Dataset) or len(data) == 3
  data = as_dataset(data)
  eval_every = max(1, steps // 20) if eval_every is None and isinstance(steps, int) \
      else eval_every
  check_int("supervised_task", steps=(steps, COUNT), eval_every=(eval_every, COUNT),
            batch_size=(batch_size, Interval(1, data.train_size, True, True)))
  if test_metrics and not has_test:
    raise ValueError("supervised_task(test_metrics=True): test_metrics needs a test set, "
                     "data=((x_train, y_train), (x_val, y_val), (x_test, y_test)), got two sets")
  penalty = penalty or (lambda hparams: None)

  def loop(hparams):
    stopping = EarlyStopping(hparams["patience"]) if "patience" in hparams else None
    return training(model, optimizer(hparams), data, steps=steps, batch_size=batch_size,
                    eval_every=eval_every, penalty=penalty(hparams), loss=loss,
                    regularization=Regularization.from_hparams(hparams),
                    early_stopping=stopping, train_set_metrics=train_set_metrics)

  def fit(hparams, key):
    run = loop(hparams)
    state, (train_loss, records) = run.advance(run.init(key), 0, steps)
    return run.result(state, train_loss, records)

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

  def init(hparams, key):
    return loop(hparams).init(key)

  def advance(state, hparams, start, count: int):
    state, (train_loss, records) = loop(hparams).advance(state, start, count)
    return state, segment_curves(train_loss, records)

  def test(hparams, seeds):
    hparams = {k: jnp.float32(v) for k, v in hparams.items()}
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))
    accuracies = np.asarray(jax.jit(jax.vmap(lambda key: fit(hparams, key).test.accuracy))(keys))
    return {"test_accuracy_mean": float(np.mean(accuracies)),
            "test_accuracy_per_seed": ", ".join(f"{a:.4f}" for a in accuracies)}

  def check_regularizer(hparam: str, value: float):
    if hparam == "patience":
      EarlyStopping(value).check()
    elif hparam in Regularization._fields:
      Regularization(**{hparam: value}).check(data, call=name)
    elif check_value is not None:
      check_value(hparam, value)
    else:
      check(name, **{hparam: (value, NONNEGATIVE)})

  names = tuple(hyperparameters) + tuple(r for r in REGULARIZERS if r not in hyperparameters)
  return Task(name, run, objective, names, test if has_test else None,
              evaluation_steps(steps, eval_every), check_regularizer, init, advance, steps)

