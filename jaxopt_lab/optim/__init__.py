"""Optimizers as pure `optax.GradientTransformation`s: blocks, aliases, schedules, solvers.

Everything here is the top of the package too (`jaxopt_lab.adam`, `jaxopt_lab.scale_by_adam`,
`jaxopt_lab.cosine_decay`); import it from there. One module per idea:

  base            hyperparameter types, the precision blocks compute in
  blocks          scale_by_* building blocks and add_decayed_weights
  clipping        global_norm, clip_by_global_norm
  aliases         sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, amsgrad (BY_NAME)
  combine         one_of: the optimizer itself as a traced choice
  velocity_forms  the lectures' velocity forms of heavy ball and Nesterov
  schedules       learning-rate schedules; plateau: reduce-on-plateau
  nonfinite       skipping non-finite steps
  linesearch      backtracking (Armijo) and zoom (strong Wolfe) line searches
  second_order    Newton and L-BFGS; minimize: a whole full-batch solve under jit
  random_search   the lectures' gradient-free baselines
"""
import sys

from jaxopt_lab.optim.aliases import *  # noqa: F401,F403
from jaxopt_lab.optim.blocks import *  # noqa: F401,F403
from jaxopt_lab.optim.clipping import *  # noqa: F401,F403
from jaxopt_lab.optim.combine import *  # noqa: F401,F403
from jaxopt_lab.optim.velocity_forms import *  # noqa: F401,F403
from jaxopt_lab.optim.schedules import *  # noqa: F401,F403
from jaxopt_lab.optim.plateau import *  # noqa: F401,F403
from jaxopt_lab.optim.nonfinite import *  # noqa: F401,F403
from jaxopt_lab.optim.linesearch import *  # noqa: F401,F403
from jaxopt_lab.optim.second_order import *  # noqa: F401,F403
from jaxopt_lab.optim.minimize import *  # noqa: F401,F403
from jaxopt_lab.optim.random_search import *  # noqa: F401,F403

MODULES = ("aliases", "blocks", "clipping", "combine", "velocity_forms", "schedules", "plateau",
           "nonfinite", "linesearch", "second_order", "minimize", "random_search")
__all__ = [name for module in MODULES for name in sys.modules[f"{__name__}.{module}"].__all__]
