"""Training diagnosis: the lectures' rules for reading one run's curves, as named findings.

  findings = diagnose(run_curves(result), evaluation_steps(steps, eval_every))
  for finding in findings:
    print(finding)        # overfitting: validation loss 0.66 vs training loss 0.0012 ...

The rules ("babysitting the learning process"), each a `Finding` with the numbers behind it:

- learning rate too high: the loss goes NaN/Inf, or explodes above where it started;
- learning rate too low: the training loss is still high at the end and still falling at a
  steady pace (a crawl: the second half of the run fell at least `steady` times as much as
  the first half);
- underfitting: the training loss is still high at the end and has stopped falling;
- overfitting: the training loss keeps falling over the second half of the run while the
  gap between validation and training loss grows and the validation loss has turned up
  (more than `val_rise` = 1% above its minimum);
- update/weight ratio far from 1e-3: a weight matrix whose median ratio of norms
  ||update||_F / ||W||_F over the evaluations is outside [1e-4, 1e-2] (a decade either side
  of the lectures' 1e-3);
- dead ReLUs: a hidden layer where more than a quarter of the units output 0 for every
  validation example at the end.

"High" means above `high_loss` times the loss of the very first step (chance level, for a
freshly initialised classifier). The training loss read at each evaluation is the whole
training set's (`train_set_loss`, no augmentation or dropout) when the run measured it, else
the mean minibatch loss of the steps since the previous evaluation. The thresholds are
heuristics with the defaults above (`Thresholds`); each finding says what it saw.
"""
from typing import Mapping, NamedTuple, Optional

import numpy as np

FINDINGS = ("learning rate too high", "learning rate too low", "underfitting", "overfitting",
            "update/weight ratio far from 1e-3", "dead ReLUs")
"""Every finding `diagnose` can return, by name."""


class Finding(NamedTuple):
  name: str       # one of FINDINGS
  evidence: str   # the numbers that triggered it

  def __str__(self) -> str:
    return f"{self.name}: {self.evidence}"


class Thresholds(NamedTuple):
  high_loss: float = 0.25   # final training loss above this fraction of the first step's is high
  steady: float = 0.3       # too low: second-half drop >= steady x first-half drop
  val_rise: float = 0.01    # overfitting: validation loss this fraction above its minimum
  ratio_band: tuple = (1e-4, 1e-2)   # healthy median update/weight ratios
  dead: float = 0.25        # dead ReLUs: fraction of a layer's units silent on every example


def _numbered(curves: Mapping, prefix: str) -> dict:
  """{k: curve} for the curves named prefix_k, in order of k."""
  found = {int(name[len(prefix):]): np.asarray(curve, np.float64)
           for name, curve in curves.items()
           if name.startswith(prefix) and name[len(prefix):].isdigit()}
  return dict(sorted(found.items()))


def _training_loss(curves: Mapping, eval_steps: np.ndarray) -> np.ndarray:
  """The training loss at each evaluation: the training set's, or the minibatch losses' mean
  over the steps since the previous evaluation."""
  if "train_set_loss" in curves:
    return np.asarray(curves["train_set_loss"], np.float64)
  steps = np.asarray(curves["train_loss"], np.float64)
  starts = np.concatenate([[0], eval_steps[:-1]])
  return np.array([steps[a:b].mean() for a, b in zip(starts, eval_steps)])


def diagnose(curves: Mapping[str, np.ndarray], eval_steps, *, stopped_step: Optional[int] = None,
             thresholds: Thresholds = Thresholds()) -> list[Finding]:
  """The findings for one run, from its curves (`jaxopt_lab.train.loop.run_curves` names):
  train_loss [steps] (required); val_loss, nonfinite_steps, update_ratio_k, dead_relu_k and
  train_set_loss [evaluations] when present. eval_steps [evaluations]: the step after which
  each evaluation was taken. With early stopping, `stopped_step` cuts the curves where the
  run stopped. An empty list: nothing the lectures would worry about.
  """
  eval_steps = np.asarray(eval_steps, np.int64)
  steps = len(curves["train_loss"])
  if eval_steps.size == 0 or eval_steps[-1] != steps:
    raise ValueError(f"diagnose(eval_steps=...): eval_steps must end at the run's last step "
                     f"{steps}, got {eval_steps.tolist()[-3:]}")
  if stopped_step is not None and 0 < stopped_step < steps:
    kept = int(np.searchsorted(eval_steps, stopped_step, side="right"))
    curves = {name: np.asarray(c)[:stopped_step] if name == "train_loss" else np.asarray(c)[:kept]
              for name, c in curves.items()}
    eval_steps = eval_steps[:kept]
  findings = _learning_rate_too_high(curves, eval_steps)
  if not findings:
    findings += _loss_level(curves, eval_steps, thresholds)
    findings += _overfitting(curves, eval_steps, thresholds)
  findings += _update_ratio(curves, thresholds) + _dead_relus(curves, eval_steps, thresholds)
  return findings


def _learning_rate_too_high(curves, eval_steps) -> list[Finding]:
  loss = np.asarray(curves["train_loss"], np.float64)
  bad = ~np.isfinite(loss)
  skipped = int(np.sum(curves.get("nonfinite_steps", 0)))
  if bad.any() or skipped:
    first = int(np.argmax(bad)) if bad.any() else None
    where = f"the training loss is NaN/Inf from step {first}" if first is not None else \
        "the training loss stayed finite"
    return [Finding(FINDINGS[0], f"{where}; {skipped} steps had a non-finite loss or gradient")]
  if "val_loss" in curves and not np.all(np.isfinite(curves["val_loss"])):
    first = int(eval_steps[np.argmax(~np.isfinite(curves["val_loss"]))])
    return [Finding(FINDINGS[0], f"the validation loss is NaN/Inf at step {first}")]
  level = _training_loss(curves, eval_steps)
  if level.max() > loss[0]:
    peak = int(np.argmax(level))
    return [Finding(FINDINGS[0], f"the training loss exploded to {level[peak]:.3g} at step "
                                 f"{eval_steps[peak]}, above its first value {loss[0]:.3g}")]
  return []


def _loss_level(curves, eval_steps, thresholds) -> list[Finding]:
  """Too low or underfitting: a high final training loss, still falling steadily or not."""
  start = float(curves["train_loss"][0])
  level = _training_loss(curves, eval_steps)
  end = level[-1]
  if len(level) < 3 or end <= thresholds.high_loss * start:
    return []
  middle = level[len(level) // 2]
  first_drop, second_drop = level[0] - middle, middle - end
  seen = (f"the training loss is {end:.3g} at step {eval_steps[-1]}, above "
          f"{thresholds.high_loss:g} x its first value {start:.3g}")
  if first_drop > 0 and second_drop >= thresholds.steady * first_drop:
    return [Finding(FINDINGS[1], f"{seen}, and still falling at a steady pace ({level[0]:.3g} "
                                 f"-> {middle:.3g} -> {end:.3g} at steps {eval_steps[0]}, "
                                 f"{eval_steps[len(level) // 2]}, {eval_steps[-1]})")]
  return [Finding(FINDINGS[2], f"{seen}, and no longer falling ({middle:.3g} at step "
                               f"{eval_steps[len(level) // 2]} -> {end:.3g})")]


def _overfitting(curves, eval_steps, thresholds) -> list[Finding]:
  if "val_loss" not in curves or len(eval_steps) < 3:
    return []
  val = np.asarray(curves["val_loss"], np.float64)
  train = _training_loss(curves, eval_steps)
  middle = len(val) // 2
  gap = val - train
  lowest = int(np.argmin(val))
  if (train[-1] < train[middle] and gap[-1] > gap[middle]
          and val[-1] > (1 + thresholds.val_rise) * val[lowest]):
    return [Finding(FINDINGS[3], f"validation loss {val[-1]:.3g} vs training loss "
                                 f"{train[-1]:.3g} at step {eval_steps[-1]}: the gap grew from "
                                 f"{gap[middle]:.3g} at step {eval_steps[middle]} while the "
                                 f"training loss fell, and the validation loss is "
                                 f"{val[-1] / val[lowest] - 1:.0%} above its minimum "
                                 f"{val[lowest]:.3g} at step {eval_steps[lowest]}")]
  return []


def _update_ratio(curves, thresholds) -> list[Finding]:
  low, high = thresholds.ratio_band
  far = []
  for layer, ratio in _numbered(curves, "update_ratio_").items():
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size and not low <= np.median(ratio) <= high:
      far.append(f"weight matrix {layer}: {np.median(ratio):.2g}")
  if not far:
    return []
  return [Finding(FINDINGS[4], f"median norm of the update / norm of the weights, "
                               f"{'; '.join(far)} (healthy: [{low:g}, {high:g}])")]


def _dead_relus(curves, eval_steps, thresholds) -> list[Finding]:
  dead = [f"hidden layer {layer}: {fraction[-1]:.0%} of its units"
          for layer, fraction in _numbered(curves, "dead_relu_").items()
          if np.isfinite(fraction[-1]) and fraction[-1] > thresholds.dead]
  if not dead:
    return []
  return [Finding(FINDINGS[5], f"{'; '.join(dead)} output 0 for every validation example at "
                               f"step {eval_steps[-1]}")]
