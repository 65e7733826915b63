"""jaxopt_lab: optimizers as pure gradient transformations, sweeps, gradient checks and theory.

Optimizers, their building blocks and schedules are at the top (`jaxopt_lab.adam`,
`jaxopt_lab.scale_by_adam`, `jaxopt_lab.cosine_decay`); everything else is in a subpackage
named for its idea:

  jaxopt_lab.sweeps       vmapped hyperparameter sweeps: engine, search spaces, tasks, reports
  jaxopt_lab.theory       convergence rates on quadratics, closed form and measured
  jaxopt_lab.train        data, models, losses, the scan training loop, checkpoints
  jaxopt_lab.diagnostics  gradient checks and gradient flow
  jaxopt_lab.studies      the studies the `jaxopt-lab` command runs
"""
from optax import apply_updates, chain

from jaxopt_lab import diagnostics, sweeps, theory, train
from jaxopt_lab.optim import *  # noqa: F401,F403
from jaxopt_lab.optim import __all__ as _optimizers

__all__ = [*_optimizers, "sweeps", "theory", "train", "diagnostics",
           # optax's, re-exported
           "chain", "apply_updates"]
