"""A training run as one pure function of (optimizer hyperparameters, PRNG key), built on lax.scan.

  make_model = lambda rngs: MLP(64, (64,), 10, "relu", rngs=rngs)
  result = train(make_model, adam(1e-3), digits(), jax.random.key(0), steps=500,
                 batch_size=64, eval_every=25)
  result.train_loss     # [500] minibatch loss per step
  result.val_accuracy   # [20] at evaluation_steps(500, 25) = 25, 50, ..., 500
  result.test.accuracy  # final test metrics (precision / recall per class too)

Everything happens inside one traced program: the model is initialised from the key, split
once into a graph definition and its parameters (`nnx.split`), and each step rebuilds it with
`nnx.merge`. The batches are `data.minibatch(key, step)`'s, but each epoch's shuffle is drawn
once and carried through its steps (a lax.cond on the step, which vmap leaves a branch since
the step is never batched): the permutation was 95% of a step's cost. Validation runs as an
outer scan over inner scans of `eval_every` steps. The dataset arrays are constants. So

  jax.jit(jax.vmap(lambda rate, key: train(make_model, adam(rate), data, key, ...)))

trains many configurations in one compiled program, with no host round trip.
"""
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxopt_lab._validation import Interval, check_int
from jaxopt_lab.optim.averaging import evaluation_params
from jaxopt_lab.train.data import Dataset, batches_per_epoch, epoch_order, take_batch
from jaxopt_lab.train.data_parallel import sharded_value_and_grad
from jaxopt_lab.train.losses import softmax_cross_entropy

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
                           # iterate average or schedule-free x when the optimizer keeps one
  train_loss: jax.Array    # [steps]: data loss of each step's minibatch, before its update
  val_loss: jax.Array      # [evaluations]: at `evaluation_steps(steps, eval_every)`
  val_accuracy: jax.Array  # [evaluations]
  val: Metrics             # on the validation set after the last step
  test: Metrics            # on the test set after the last step


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


def data_value_and_grad(graphdef, loss: Callable):
  """(params, x, y, weights) -> (weighted mean loss, its gradient), on one device."""
  def batch_loss(params, x, y, weights):
    return loss(nnx.merge(graphdef, params)(x), y, weights)
  return jax.value_and_grad(batch_loss)


def train(make_model: Callable[[nnx.Rngs], nnx.Module], optimizer: optax.GradientTransformation,
          data: Dataset, key: jax.Array, *, steps: int, batch_size: int, eval_every: int = 100,
          penalty: Optional[Callable] = None, loss: Callable = softmax_cross_entropy,
          drop_last: bool = False, mesh: Optional[jax.sharding.Mesh] = None) -> TrainResult:
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
  """
  check_int("train", steps=(steps, COUNT), eval_every=(eval_every, COUNT),
            batch_size=(batch_size, Interval(1, data.train_size, True, True)))
  optimizer = optax.with_extra_args_support(optimizer)
  init_key, batch_key = jax.random.split(key)
  graphdef, params = split_params(make_model(nnx.Rngs(init_key)))
  if mesh is None:
    value_and_grad = data_value_and_grad(graphdef, loss)
  else:
    value_and_grad = sharded_value_and_grad(graphdef, loss, mesh, batch_size)

  per_epoch = batches_per_epoch(data.train_size, batch_size, drop_last)

  def step(carry, t):
    params, state, order = carry
    epoch, batch = jnp.divmod(t, per_epoch)
    # reshuffle once per epoch; t is never batched, so under vmap this stays a branch
    order = jax.lax.cond(batch == 0, lambda: epoch_order(batch_key, epoch, data.train_size),
                         lambda: order)
    index, weights = take_batch(order, batch, batch_size)
    value, grads = value_and_grad(params, data.x_train[index], data.y_train[index], weights)
    if penalty is not None:
      grads = jax.tree.map(jnp.add, grads, jax.grad(penalty)(params))
    updates, state = optimizer.update(grads, state, params, value=value)
    return (optax.apply_updates(params, updates), state, order), value

  def validate(params):
    metrics = evaluate(nnx.merge(graphdef, params), data.x_val, data.y_val, loss)
    return metrics.loss, metrics.accuracy

  def block(carry, ts):
    carry, values = jax.lax.scan(step, carry, ts)
    return carry, (values, *validate(evaluation_params(carry[1], carry[0])))

  blocks = steps // eval_every
  carry = (params, optimizer.init(params), jnp.zeros(data.train_size, jnp.int32))
  ts = jnp.arange(blocks * eval_every, dtype=jnp.int32).reshape(blocks, eval_every)
  carry, (train_loss, val_loss, val_accuracy) = jax.lax.scan(block, carry, ts)
  train_loss = train_loss.reshape(-1)
  if steps % eval_every:
    carry, (tail, *last) = block(carry, jnp.arange(blocks * eval_every, steps, dtype=jnp.int32))
    train_loss = jnp.concatenate([train_loss, tail])
    val_loss, val_accuracy = (jnp.append(curve, value) for curve, value in
                              zip((val_loss, val_accuracy), last))
  params = evaluation_params(carry[1], carry[0])
  model = nnx.merge(graphdef, params)
  return TrainResult(params, train_loss, val_loss, val_accuracy,
                     evaluate(model, data.x_val, data.y_val, loss),
                     evaluate(model, data.x_test, data.y_test, loss))
