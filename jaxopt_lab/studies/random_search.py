"""The lectures' three strategies for a linear classifier on digits, with the multiclass SVM loss:
#1 random search (best of N random weight matrices), #2 random local search (keep a random
step only if it lowers the loss), #3 gradient descent (full batch, rate picked on validation).

Each counts loss evaluations on the whole training set (for gradient descent, one forward and
backward pass per step); gradient descent runs at four rates in one program, and its table row
marked selected_on_validation is the one with the best validation accuracy. Writes
random_search.png (lowest training loss so far against the evaluations; final accuracies),
random_search.csv (one row per strategy) and random_search_curves.csv.
"""
import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from flax import nnx

from jaxopt_lab.train.data import digits
from jaxopt_lab.train.losses import multiclass_hinge
from jaxopt_lab.train.models import LinearClassifier
from jaxopt_lab.optim.aliases import sgd
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.optim.random_search import random_local_search, random_search
from jaxopt_lab.train.loop import evaluate, train, trained_model
from jaxopt_lab.studies import check_option

DESCRIPTION = "Random search vs random local search vs gradient descent, linear SVM on digits."
SCALE, STEP_SIZE = 1e-3, 1e-2           # the guesses' standard deviation; the local step
GD_RATES = np.array([1e-3, 1e-2, 1e-1, 1.0])


def make_linear(rngs: nnx.Rngs) -> LinearClassifier:
  return LinearClassifier(64, 10, scale=SCALE, rngs=rngs)


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--trials", type=int, default=None,
                      help="loss evaluations per strategy (default 10000, quick 1000)")


def gradient_descent(data, evaluations: int):
  """Full-batch gradient descent at every rate of GD_RATES, in one program: the TrainResults
  (leading axis: rate) and the index of the rate with the best final validation accuracy."""
  def run(rate):
    return train(make_linear, sgd(rate), data, jax.random.key(0), steps=evaluations,
                 batch_size=data.train_size, eval_every=evaluations, loss=multiclass_hinge)

  results = jax.jit(jax.vmap(run))(jnp.asarray(GD_RATES, jnp.float32))
  return results, int(np.nanargmax(np.asarray(results.val_accuracy[:, -1])))


def main(args: argparse.Namespace) -> list[Path]:
  if args.trials is not None:
    check_option("--trials", args.trials, 1, 10 ** 8)
  trials = args.trials or (1000 if args.quick else 10000)
  data = digits(seed=0)
  graphdef, start = nnx.split(make_linear(nnx.Rngs(0)), nnx.Param)
  loss = lambda params: multiclass_hinge(nnx.merge(graphdef, params)(data.x_train), data.y_train)
  print(f"linear classifier on digits, multiclass SVM loss: {trials} evaluations per strategy")
  guessed = jax.jit(lambda key: random_search(loss, start, key, trials, SCALE))(jax.random.key(1))
  local = jax.jit(lambda key: random_local_search(loss, start, key, trials, STEP_SIZE))(
      jax.random.key(2))
  descent, chosen = gradient_descent(data, trials)
  strategies = [("#1 random search (best of N)", guessed.best_so_far,
                 nnx.merge(graphdef, guessed.params)),
                ("#2 random local search", local.best_so_far, nnx.merge(graphdef, local.params))]
  for i, rate in enumerate(GD_RATES):
    params = jax.tree.map(lambda x: x[i], descent.params)
    strategies.append((f"#3 gradient descent, lr {rate:g}",
                       np.minimum.accumulate(np.asarray(descent.train_loss[i])),
                       trained_model(make_linear, params)))
  rows = []
  for name, _, model in strategies:
    train_metrics = evaluate(model, data.x_train, data.y_train, multiclass_hinge)
    test_metrics = evaluate(model, data.x_test, data.y_test, multiclass_hinge)
    rows.append({"strategy": name, "evaluations": trials, "train_loss": float(train_metrics.loss),
                 "train_accuracy": float(train_metrics.accuracy),
                 "test_accuracy": float(test_metrics.accuracy),
                 "selected_on_validation": name.startswith("#1") or name.startswith("#2")
                 or name.endswith(f"lr {GD_RATES[chosen]:g}")})
  table = pd.DataFrame(rows)
  print(table.to_string(index=False))
  long = pd.concat([pd.DataFrame({"strategy": name, "evaluation": np.arange(1, trials + 1),
                                  "lowest_train_loss": np.asarray(curve)})
                    for name, curve, _ in strategies])
  out = Path(args.out)
  return [save_table(table, out / "random_search.csv"),
          save_table(long, out / "random_search_curves.csv"),
          save_figure(plot(strategies, table), out / "random_search.png")]


def plot(strategies, table):
  fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6), width_ratios=(1.4, 1))
  descent = plt.get_cmap("Greens")(np.linspace(0.4, 0.9, len(GD_RATES)))
  for (name, curve, _), row in zip(strategies, table.itertuples()):
    gd = name.startswith("#3")
    style = dict(color=descent[list(table.strategy[2:]).index(name)], lw=2.2 if
                 row.selected_on_validation else 1.0) if gd else dict(lw=1.8)
    label = name + (" (best on validation)" if gd and row.selected_on_validation else "")
    left.loglog(np.arange(1, len(curve) + 1), curve, label=label, **style)
  left.set(xlabel="loss evaluations on the training set (gradient descent: forward + backward)",
           ylabel="lowest training loss so far (multiclass SVM)", ylim=(1e-4, None),
           title="Guessing vs following the gradient (a loss of 0 leaves the axis)")
  left.legend(loc="lower left")
  shown = table[table.selected_on_validation].reset_index(drop=True)
  positions = np.arange(len(shown))
  right.bar(positions - 0.2, shown.train_accuracy, 0.4, label="training set")
  right.bar(positions + 0.2, shown.test_accuracy, 0.4, label="test set")
  for x, accuracy in zip(positions, shown.test_accuracy):
    right.annotate(f"{accuracy:.1%}", (x + 0.2, accuracy), ha="center", va="bottom", fontsize=8)
  right.axhline(0.1, color="k", ls=":", lw=1, label="chance (10 classes)")
  right.set(xticks=positions, xticklabels=[name.split(" (")[0].split(",")[0]
                                           for name in shown.strategy],
            ylabel="accuracy", ylim=(0, 1.08),
            title="Accuracy of the final weights (gradient descent: best rate on validation)")
  right.tick_params(axis="x", labelsize=8)
  right.legend(loc="upper left")
  fig.suptitle(f"Linear classifier on digits (64 -> 10), {table.evaluations.iloc[0]} "
               "evaluations per strategy")
  fig.tight_layout()
  return fig
