"""Optimizers as pure `optax.GradientTransformation`s: blocks, aliases, schedules, solvers.

Everything here is the top of the package too (`jaxopt_lab.adam`, `jaxopt_lab.scale_by_adam`,
`jaxopt_lab.cosine_decay`); import it from there. One module per idea:

  base            hyperparameter types, the precision blocks compute in
  blocks          scale_by_* building blocks and add_decayed_weights
  clipping        global_norm, clip_by_global_norm
  aliases         sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, amsgrad (BY_NAME)
  masking         masked: a transform on some leaves only (mask= of decoupled weight decay)
  adam_family     nadam, radam, adamax, adabelief and their blocks
  sign_methods    sign_sgd, lion;  layerwise: lamb, lars (trust ratios);  adafactor
  adadelta, rprop the per-coordinate step sizes of Zeiler and of Riedmiller & Braun
  muon            Newton-Schulz orthogonalized momentum for matrices, Adam for the rest
  schedule_free   schedule_free, schedule_free_adamw, schedule_free_eval_params
  averaging       Polyak-Ruppert and EMA iterate averaging around any optimizer
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
from jaxopt_lab.optim.masking import *  # noqa: F401,F403
from jaxopt_lab.optim.adam_family import *  # noqa: F401,F403
from jaxopt_lab.optim.sign_methods import *  # noqa: F401,F403
from jaxopt_lab.optim.layerwise import *  # noqa: F401,F403
from jaxopt_lab.optim.adafactor import *  # noqa: F401,F403
from jaxopt_lab.optim.adadelta import *  # noqa: F401,F403
from jaxopt_lab.optim.rprop import *  # noqa: F401,F403
from jaxopt_lab.optim.muon import *  # noqa: F401,F403
from jaxopt_lab.optim.schedule_free import *  # noqa: F401,F403
from jaxopt_lab.optim.averaging import *  # noqa: F401,F403
from jaxopt_lab.optim.minimize import *  # noqa: F401,F403
from jaxopt_lab.optim.random_search import *  # noqa: F401,F403

# the zoo's modules register optimizers in BY_NAME: they come before minimize, which reads it
MODULES = ("aliases", "blocks", "clipping", "combine", "velocity_forms", "schedules", "plateau",
           "nonfinite", "linesearch", "second_order", "masking", "adam_family", "sign_methods",
           "layerwise", "adafactor", "adadelta", "rprop", "muon", "schedule_free", "averaging",
           "minimize", "random_search")
__all__ = [name for module in MODULES for name in sys.modules[f"{__name__}.{module}"].__all__]
