"""A training run as one pure function of (optimizer hyperparameters, PRNG key), built on lax.scan.

  make_model = lambda rngs: MLP(64, (64,), 10, "relu", rngs=rngs)
  result = train(make_model, adam(1e-3), digits(), jax.random.key(0), steps=500,
                 batch_size=64, eval_every=25)
  result.train_loss     # [500] minibatch loss per step
  result.val_accuracy   # [20] at evaluation_steps(500, 25) = 25, 50, ..., 500
  result.test.accuracy  # final test metrics (precision / recall per class too)

With regularization and early stopping (see `train`):

  result = train(make_model, adam(1e-3), data, key, steps=1000, batch_size=32, eval_every=50,
                 regularization=Regularization(dropout=0.4, max_degrees=25),
                 early_stopping=EarlyStopping(patience=3), train_set_metrics=True)
  result.stopped_step, result.best_step   # where early stopping stopped, and its best step
  result.update_ratio   # [20, 2] ||update|| / ||W|| per weight matrix; also dead_fraction,
                        # nonfinite_steps: what `jaxopt_lab.diagnostics.diagnose` reads

Everything happens inside one traced program: the model is initialised from the key, split
once into a graph definition and its parameters (`nnx.split`), and each step rebuilds it with
`nnx.merge`. The batches are `data.minibatch(key, step)`'s, but each epoch's shuffle is drawn
once and carried through its steps (a lax.cond on the step, which vmap leaves a branch since
the step is never batched): the permutation was 95% of a step's cost. Validation runs as an
outer scan over inner scans of `eval_every` steps. The dataset arrays are constants. So

  jax.jit(jax.vmap(lambda rate, key: train(make_model, adam(rate), data, key, ...)))

trains many configurations in one compiled program, with no host round trip.
"""
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxopt_lab._validation import Interval, check_int
from jaxopt_lab.optim.averaging import evaluation_params
from jaxopt_lab.train.data import Dataset, batches_per_epoch, epoch_order, take_batch
from jaxopt_lab.train.data_parallel import sharded_value_and_grad
from jaxopt_lab.train.early_stopping import (
    EarlyStopping, early_stopping_init, early_stopping_update)
from jaxopt_lab.train.losses import is_weight, softmax_cross_entropy
from jaxopt_lab.train.regularizers import Regularization, accepts_dropout, regularize_batch

COUNT = Interval(1, np.inf)


class Metrics(NamedTuple):
  """Classification metrics on one set; per-class arrays are indexed by class."""
  loss: jax.Array        # mean loss
  accuracy: jax.Array    # fraction of argmax predictions equal to the label
  precision: jax.Array   # [classes]: TP / (TP + FP), 0 for a class never predicted
  recall: jax.Array      # [classes]: TP / (TP + FN), 0 for a class absent from the set
  confusion: jax.Array   # [classes, classes]: counts, rows true class, columns predicted


class TrainResult(NamedTuple):
  params: nnx.State        # the trained model's parameters (`trained_model` rebuilds it): the
                           # iterate average or schedule-free x when the optimizer keeps one;
                           # when early stopping stopped the run, those of the best validation loss
  train_loss: jax.Array    # [steps]: data loss of each step's minibatch, before its update
  val_loss: jax.Array      # [evaluations]: at `evaluation_steps(steps, eval_every)`
  val_accuracy: jax.Array  # [evaluations]
  val: Metrics             # on the validation set, of `params`
  test: Metrics            # on the test set, of `params`
  # how training went, per evaluation (what `jaxopt_lab.diagnostics.diagnosis` reads):
  update_ratio: jax.Array    # [evaluations, weight matrices]: ||update||_F / ||W||_F per
                             # matrix, of the step before each evaluation
  dead_fraction: jax.Array   # [evaluations, hidden layers]: fraction of hidden units that
                             # output 0 on every validation example ([evaluations, 0] for a
                             # model without `hidden_activations`)
  nonfinite_steps: jax.Array  # [evaluations]: steps since the previous evaluation whose
                              # loss or gradient held a NaN or Inf
  train_set_loss: Optional[jax.Array] = None      # [evaluations], with train_set_metrics:
  train_set_accuracy: Optional[jax.Array] = None  # the whole training set, evaluation mode
  train_set: Optional[Metrics] = None             # with train_set_metrics, of `params`
  best_step: Optional[jax.Array] = None     # early stopping: the step of the best validation
                                            # loss (`params` are from it if the run stopped)
  stopped_step: Optional[jax.Array] = None  # early stopping: the step it stopped, or `steps`


def classification_metrics(logits: jax.Array, labels: jax.Array,
                           loss: Callable = softmax_cross_entropy) -> Metrics:
  """Loss, accuracy, per-class precision/recall and the confusion matrix of `logits` [n, C]."""
  classes = logits.shape[-1]
  predicted = jnp.argmax(logits, axis=-1)
  confusion = jax.nn.one_hot(labels, classes).T @ jax.nn.one_hot(predicted, classes)
  hits = jnp.diag(confusion)
  ratio = lambda a, b: a / jnp.where(b > 0, b, 1.0)
  return Metrics(loss(logits, labels), jnp.mean(predicted == labels),
                 ratio(hits, confusion.sum(0)), ratio(hits, confusion.sum(1)), confusion)


def evaluate(model: nnx.Module, x: jax.Array, y: jax.Array,
             loss: Callable = softmax_cross_entropy) -> Metrics:
  """`classification_metrics` of `model(x)` against labels `y`."""
  return classification_metrics(model(x), y, loss)


def evaluation_steps(steps: int, eval_every: int) -> np.ndarray:
  """Steps after which `train` validates: eval_every, 2 eval_every, ..., and always `steps`."""
  check_int("evaluation_steps", steps=(steps, COUNT), eval_every=(eval_every, COUNT))
  marks = np.arange(eval_every, steps + 1, eval_every)
  return marks if marks.size and marks[-1] == steps else np.append(marks, steps)


def run_curves(result: TrainResult) -> dict:
  """A run's curves by the names sweeps and `jaxopt_lab.diagnostics.diagnosis` use: train_loss
  [steps]; val_loss, val_accuracy, nonfinite_steps, update_ratio_1..L (weight matrices in
  leaf order: input layer first for `MLP`), dead_relu_1..H (hidden layers) and, when
  measured, train_set_loss and train_set_accuracy [evaluations]."""
  records = {"val_loss": result.val_loss, "val_accuracy": result.val_accuracy,
             "nonfinite_steps": result.nonfinite_steps, "update_ratio": result.update_ratio,
             "dead_fraction": result.dead_fraction}
  if result.train_set_loss is not None:
    records.update(train_set_loss=result.train_set_loss,
                   train_set_accuracy=result.train_set_accuracy)
  return segment_curves(result.train_loss, records)


def segment_curves(train_loss: jax.Array, records: dict) -> dict:
  """`run_curves` of a run's segment: `Training.advance`'s (train_loss, records)."""
  curves = {"train_loss": train_loss, "val_loss": records["val_loss"],
            "val_accuracy": records["val_accuracy"],
            "nonfinite_steps": records["nonfinite_steps"]}
  for kind, values in (("update_ratio", records["update_ratio"]),
                       ("dead_relu", records["dead_fraction"])):
    curves.update({f"{kind}_{k + 1}": values[..., k] for k in range(values.shape[-1])})
  if "train_set_loss" in records:
    curves.update(train_set_loss=records["train_set_loss"],
                  train_set_accuracy=records["train_set_accuracy"])
  return curves


def split_params(model: nnx.Module):
  """(graphdef, params) of a model whose whole state is nnx.Param (no batch statistics)."""
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  if jax.tree.leaves(rest):
    raise ValueError(f"train: {type(model).__name__} has state other than nnx.Param "
                     f"({sorted(set(type(v).__name__ for v in jax.tree.leaves(rest)))}); "
                     "train handles parameter-only models")
  return graphdef, params


def trained_model(make_model: Callable, params: nnx.State) -> nnx.Module:
  """The model `make_model(rngs)` builds, carrying `params` (e.g. `TrainResult.params`)."""
  graphdef, _ = split_params(nnx.eval_shape(lambda: make_model(nnx.Rngs(0))))
  return nnx.merge(graphdef, params)


def data_value_and_grad(graphdef, loss: Callable, dropout_rate=None):
  """(params, x, targets, weights, key) -> (weighted mean loss, its gradient), on one device;
  with a `dropout_rate`, the model runs in training mode: model(x, dropout_rate, key)."""
  def batch_loss(params, x, targets, weights, key):
    model = nnx.merge(graphdef, params)
    logits = model(x) if dropout_rate is None else model(x, dropout_rate=dropout_rate, key=key)
    return loss(logits, targets, weights)
  return jax.value_and_grad(batch_loss)


def update_ratios(updates, params) -> jax.Array:
  """||u_k||_F / ||W_k||_F for every weight matrix k (`losses.is_weight`), in leaf order: the
  lectures' update-to-weight ratio, healthy near 1e-3. 0 for a matrix of zeros."""
  pairs = [(u, w) for u, w in zip(jax.tree.leaves(updates), jax.tree.leaves(params))
           if is_weight(w)]
  ratio = lambda u, w: jnp.linalg.norm(u) / jnp.where(jnp.any(w != 0), jnp.linalg.norm(w), 1.0)
  return jnp.stack([ratio(u, w) for u, w in pairs]) if pairs else jnp.zeros(0)


def dead_fractions(model: nnx.Module, x: jax.Array) -> jax.Array:
  """Per hidden layer, the fraction of units whose output is 0 for every row of x [n, ...]
  (dead ReLUs); empty for a model without `hidden_activations(x)`."""
  if not hasattr(model, "hidden_activations"):
    return jnp.zeros(0)
  layers = model.hidden_activations(x)
  return jnp.stack([jnp.mean(jnp.all(h == 0, axis=0)) for h in layers]) if layers else \
      jnp.zeros(0)


def _check_regularizers(model, data, loss, mesh, regularization, early_stopping):
  if regularization is not None:
    regularization.check(data)
    if regularization.soft_targets and loss is not softmax_cross_entropy:
      raise ValueError("train(loss=...): loss must be softmax_cross_entropy (which takes "
                       "target probabilities) with label smoothing or mixup, got "
                       f"{getattr(loss, '__name__', loss)!r}")
    if regularization.dropout is not None and not accepts_dropout(model):
      raise ValueError(f"train(regularization.dropout={regularization.dropout!r}): dropout "
                       f"needs a model called as model(x, dropout_rate=..., key=...), got "
                       f"{type(model).__name__}")
    if regularization.dropout is not None and mesh is not None:
      raise ValueError(f"train(regularization.dropout={regularization.dropout!r}): dropout "
                       "must be None with a mesh (one device draws the whole batch's masks)")
  if early_stopping is not None:
    early_stopping.check()


class TrainState(NamedTuple):
  """Where a run stands between steps: what `Training.advance` continues from."""
  params: nnx.State         # the model's parameters
  opt_state: optax.OptState
  order: jax.Array          # int32 [train size]: the current epoch's shuffle (data position)
  stopping: Any             # EarlyStoppingState, or None without early stopping
  key: jax.Array            # the run's PRNG key (its minibatch and noise keys derive from it)


class Training(NamedTuple):
  """`train` in resumable pieces (see `training`); train = init, advance(0, steps), result."""
  init: Callable      # key -> TrainState before step 0
  advance: Callable   # (state, start, count) -> (state, (train_loss [count], records))
  result: Callable    # (state, train_loss [steps], records) -> TrainResult
  steps: int
  eval_every: int


def training(make_model: Callable[[nnx.Rngs], nnx.Module],
             optimizer: optax.GradientTransformation, data: Dataset, *, steps: int,
             batch_size: int, eval_every: int = 100, penalty: Optional[Callable] = None,
             loss: Callable = softmax_cross_entropy, drop_last: bool = False,
             mesh: Optional[jax.sharding.Mesh] = None,
             regularization: Optional[Regularization] = None,
             early_stopping: Optional[EarlyStopping] = None,
             train_set_metrics: bool = False) -> Training:
  """The run `train` describes (same arguments), as `Training(init, advance, result)`:

    state = init(key)                                   # the model from key, step 0
    state, (losses, records) = advance(state, 0, 100)   # steps 0..99
    state, (more, later) = advance(state, 100, 400)     # steps 100..499: the same numbers as
                                                        # advance(state, 0, 500) in one go

  `advance(state, start, count)` runs steps start .. start + count - 1 with validation after
  every step t + 1 that is a multiple of eval_every and after the last step; `start` may be a
  tracer but must not be batched under vmap (all lanes at the same step), and a segment must
  begin at a multiple of eval_every. `records` holds, per evaluation in the segment,
  val_loss, val_accuracy, dead_fraction, update_ratio, nonfinite_steps (and train_set_loss,
  train_set_accuracy with `train_set_metrics`). `result(state, train_loss, records)` gives the
  `TrainResult` of a finished run from its concatenated curves.
  """
  check_int("train", steps=(steps, COUNT), eval_every=(eval_every, COUNT),
            batch_size=(batch_size, Interval(1, data.train_size, True, True)))
  optimizer = optax.with_extra_args_support(optimizer)
  checked, regularization = regularization, regularization or Regularization()
  step_loss = softmax_cross_entropy if regularization.soft_targets else loss
  per_epoch = batches_per_epoch(data.train_size, batch_size, drop_last)
  built = {}

  def graph(model=None):
    """The model's graph definition, checked once: from `init`'s model, or (a segment traced
    on its own) from the shapes of one `make_model` builds."""
    if "graphdef" not in built:
      model = nnx.eval_shape(lambda: make_model(nnx.Rngs(0))) if model is None else model
      _check_regularizers(model, data, loss, mesh, checked, early_stopping)
      built["graphdef"] = split_params(model)[0]
    return built["graphdef"]

  def init(key) -> TrainState:
    init_key, _ = jax.random.split(key)
    model = make_model(nnx.Rngs(init_key))
    graph(model)
    _, params = split_params(model)
    stopping = None if early_stopping is None else early_stopping_init(params)
    return TrainState(params, optimizer.init(params), jnp.zeros(data.train_size, jnp.int32),
                      stopping, key)

  def advance(state: TrainState, start, count: int):
    graphdef = graph()
    if mesh is None:
      value_and_grad = data_value_and_grad(graphdef, step_loss, regularization.dropout)
    else:
      sharded = sharded_value_and_grad(graphdef, step_loss, mesh, batch_size)
      value_and_grad = lambda params, x, y, weights, key: sharded(params, x, y, weights)
    _, batch_key = jax.random.split(state.key)
    noise_key = jax.random.fold_in(state.key, 2)

    def step(carry, t):
      params, opt_state, order, stopping = carry
      epoch, batch = jnp.divmod(t, per_epoch)
      # reshuffle once per epoch; t is never batched, so under vmap this stays a branch
      order = jax.lax.cond(batch == 0, lambda: epoch_order(batch_key, epoch, data.train_size),
                           lambda: order)
      index, weights = take_batch(order, batch, batch_size)
      batch_noise, dropout_key = jax.random.split(jax.random.fold_in(noise_key, t))
      x, targets = regularize_batch(regularization, data, data.x_train[index],
                                    data.y_train[index], batch_noise)
      value, grads = value_and_grad(params, x, targets, weights, dropout_key)
      if penalty is not None:
        grads = jax.tree.map(jnp.add, grads, jax.grad(penalty)(params))
      updates, new_state = optimizer.update(grads, opt_state, params, value=value)
      finite = jnp.isfinite(value) & jnp.all(jnp.stack(
          [jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)]))
      new_params = optax.apply_updates(params, updates)
      if stopping is not None:   # stopped: the parameters and the optimizer stay as they are
        keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(stopping.stopped, b, a),
                                             new, old)
        new_params, new_state = keep(new_params, params), keep(new_state, opt_state)
      # the update/weight ratio of the last step before each evaluation (t is never batched,
      # so under vmap this stays a branch: the other steps skip its norms)
      weights = sum(is_weight(w) for w in jax.tree.leaves(params))
      ratios = jax.lax.cond(((t + 1) % eval_every == 0) | (t == steps - 1), update_ratios,
                            lambda *_: jnp.zeros(weights), updates, params)
      return (new_params, new_state, order, stopping), (value, ratios, ~finite)

    def evaluate_at(params):
      model = nnx.merge(graphdef, params)
      val = evaluate(model, data.x_val, data.y_val, loss)
      record = {"val_loss": val.loss, "val_accuracy": val.accuracy,
                "dead_fraction": dead_fractions(model, data.x_val)}
      if train_set_metrics:
        seen = evaluate(model, data.x_train, data.y_train, loss)
        record.update(train_set_loss=seen.loss, train_set_accuracy=seen.accuracy)
      return record

    def block(carry, ts):
      carry, (values, ratios, bad) = jax.lax.scan(step, carry, ts)
      params, opt_state, order, stopping = carry
      evaluated = evaluation_params(opt_state, params)
      record = evaluate_at(evaluated)
      if stopping is not None:  # it keeps the best evaluated parameters; stopped, nothing trains
        stopping, _ = early_stopping_update(stopping, record["val_loss"], evaluated, ts[-1] + 1,
                                            early_stopping)
      record.update(update_ratio=ratios[-1], nonfinite_steps=jnp.sum(bad))
      return (params, opt_state, order, stopping), (values, record)

    blocks = count // eval_every
    start = jnp.asarray(start, jnp.int32)
    carry = (state.params, state.opt_state, state.order, state.stopping)
    ts = start + jnp.arange(blocks * eval_every, dtype=jnp.int32).reshape(blocks, eval_every)
    carry, (train_loss, records) = jax.lax.scan(block, carry, ts)
    train_loss = train_loss.reshape(-1)
    if count % eval_every:
      carry, (tail, last) = block(
          carry, start + jnp.arange(blocks * eval_every, count, dtype=jnp.int32))
      train_loss = jnp.concatenate([train_loss, tail])
      records = jax.tree.map(lambda curve, value: jnp.concatenate([curve, value[None]]),
                             records, last)
    return TrainState(*carry, state.key), (train_loss, records)

  def result(state: TrainState, train_loss, records) -> TrainResult:
    graphdef = graph()
    params, stopping = evaluation_params(state.opt_state, state.params), state.stopping
    extra = {}
    if stopping is not None:   # once stopped, the best evaluated parameters
      params = jax.tree.map(lambda best, p: jnp.where(stopping.stopped, best, p),
                            stopping.best_params, params)
      extra.update(best_step=stopping.best_step,
                   stopped_step=jnp.where(stopping.stopped, stopping.stopped_step, steps))
    model = nnx.merge(graphdef, params)
    if train_set_metrics:
      extra.update(train_set_loss=records["train_set_loss"],
                   train_set_accuracy=records["train_set_accuracy"],
                   train_set=evaluate(model, data.x_train, data.y_train, loss))
    return TrainResult(params, train_loss, records["val_loss"], records["val_accuracy"],
                       evaluate(model, data.x_val, data.y_val, loss),
                       evaluate(model, data.x_test, data.y_test, loss), records["update_ratio"],
                       records["dead_fraction"], records["nonfinite_steps"], **extra)

  return Training(init, advance, result, steps, eval_every)


def train(make_model: Callable[[nnx.Rngs], nnx.Module], optimizer: optax.GradientTransformation,
          data: Dataset, key: jax.Array, *, steps: int, batch_size: int, eval_every: int = 100,
          penalty: Optional[Callable] = None, loss: Callable = softmax_cross_entropy,
          drop_last: bool = False, mesh: Optional[jax.sharding.Mesh] = None,
          regularization: Optional[Regularization] = None,
          early_stopping: Optional[EarlyStopping] = None,
          train_set_metrics: bool = False) -> TrainResult:
  """Minibatch training: for t = 0..steps-1, (x, y, w) = minibatch t of data's training set,

    g = grad_params [ sum_i w_i loss_i / sum_i w_i + penalty(params) ],
    params <- params + optimizer.update(g)

  with the model initialised by `make_model(nnx.Rngs(k1))`, (k1, k2) = split(key), and the
  batches of `data.minibatch(k2, t, ...)`: reshuffled every epoch, the short last batch of an
  epoch weighted exactly (or skipped with `drop_last`). `penalty(params)`, e.g.
  `lambda p: losses.l2(p, 1e-4)`, is added to the objective but not to `train_loss`. The
  optimizer also receives the batch's data loss as `value` (optax's extra-args convention), so
  `reduce_on_plateau` can be chained in. Validation runs after every `eval_every` steps and
  after the last, on `evaluation_params(state, params)`: the parameters themselves, or the
  average an averaging optimizer keeps, or schedule-free's x. With a `mesh` (see
  `data_parallel.data_mesh`) each batch is split over the mesh's devices and their gradients
  summed: synchronous data parallelism, equal to one device up to rounding.

  `regularization` (see `jaxopt_lab.train.regularizers`) augments each minibatch, smooths
  or mixes its targets and runs the model with dropout, from the step's own key
  fold_in(fold_in(key, 2), t); `train_loss` is then the loss on what the step trained on.
  `early_stopping` watches the validation loss at each evaluation; once it stops, the
  parameters go back to the best ones and stay there (the remaining steps change nothing);
  a run it never stops ends with its last parameters, as without it (patience inf: off).
  `train_set_metrics` also evaluates the whole training set in evaluation mode (no
  augmentation, no dropout) at each evaluation: the training loss to compare with the
  validation loss (the generalization gap). `training` gives the same run in resumable
  pieces.
  """
  run = training(make_model, optimizer, data, steps=steps, batch_size=batch_size,
                 eval_every=eval_every, penalty=penalty, loss=loss, drop_last=drop_last, mesh=mesh,
                 regularization=regularization, early_stopping=early_stopping,
                 train_set_metrics=train_set_metrics)
  state, (train_loss, records) = run.advance(run.init(key), 0, steps)
  return run.result(state, train_loss, records)
