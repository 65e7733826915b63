"""jaxopt_lab: optimizers as pure gradient transformations, sweeps, gradient checks and theory."""
from optax import apply_updates, chain

from jaxopt_lab.optimizers import (
    adagrad, adam, adamw, amsgrad, momentum, nesterov, rmsprop, sgd)
from jaxopt_lab.transforms import (
    ScaleByAdagradState, ScaleByAdamState, ScaleByAmsgradState, ScaleByLearningRateState,
    ScaleByMomentumState, ScaleByNesterovState, ScaleByRmsState, add_decayed_weights,
    clip_by_global_norm, global_norm, scale_by_adagrad, scale_by_adam, scale_by_amsgrad,
    scale_by_learning_rate, scale_by_momentum, scale_by_nesterov, scale_by_rms)
# learning-rate schedules and reduce-on-plateau
from jaxopt_lab.plateau import ReduceOnPlateauState, reduce_on_plateau
from jaxopt_lab.schedules import (
    constant, cosine_decay, exponential_decay, inverse_sqrt, linear_decay, multistep_decay, sgdr,
    step_decay, warmup)
# second-order methods, line searches and the full-batch solver
from jaxopt_lab.linesearch import (
    LinesearchState, scale_by_backtracking_linesearch, scale_by_zoom_linesearch)
from jaxopt_lab.minimize import MinimizeResult, minimize
from jaxopt_lab.second_order import (
    ScaleByLbfgsState, lbfgs, newton, scale_by_lbfgs, scale_by_newton)
from jaxopt_lab.velocity_forms import (
    VelocityState, momentum_velocity_form, nesterov_change_of_variables,
    nesterov_lookahead_form, nesterov_lookahead_point)
# convergence theory on quadratics, as a module: jaxopt_lab.theory.momentum_rate(...)
from jaxopt_lab import theory
# gradient checks: analytic derivatives against float64 central differences
from jaxopt_lab.gradient_check import GradcheckError, GradcheckReport, LeafCheck, gradcheck
# reliability: skipping non-finite steps, atomic checkpoints
from jaxopt_lab.checkpoint import (
    checkpoint_paths, latest_checkpoint, restore_tree, save_checkpoint, save_tree)
from jaxopt_lab.nonfinite import SkipNonfiniteState, all_finite, skip_nonfinite
# sweeps: search spaces, the vmapped engine, reports (modules: jaxopt_lab.search_space...)
from jaxopt_lab import search_space, sweep_report
from jaxopt_lab.sweep import SweepResult, run_sweep
# models, losses and random search (modules: jaxopt_lab.losses.l2(...)), the training loop
from jaxopt_lab import losses, random_search
from jaxopt_lab.data import digits
from jaxopt_lab.data_parallel import data_mesh
from jaxopt_lab.models import MLP, LinearClassifier
from jaxopt_lab.training import (
    Metrics, TrainResult, evaluate, evaluation_steps, train, trained_model)

__all__ = [
    # optimizers
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "amsgrad",
    # building blocks and their states
    "scale_by_learning_rate", "scale_by_momentum", "scale_by_nesterov", "scale_by_adagrad",
    "scale_by_rms", "scale_by_adam", "scale_by_amsgrad", "add_decayed_weights",
    "clip_by_global_norm", "global_norm",
    "ScaleByLearningRateState", "ScaleByMomentumState", "ScaleByNesterovState",
    "ScaleByAdagradState", "ScaleByRmsState", "ScaleByAdamState", "ScaleByAmsgradState",
    # the lectures' velocity forms of momentum
    "momentum_velocity_form", "nesterov_lookahead_form", "nesterov_lookahead_point",
    "nesterov_change_of_variables", "VelocityState",
    # learning-rate schedules (step -> rate) and reduce-on-plateau
    "constant", "step_decay", "multistep_decay", "exponential_decay", "cosine_decay",
    "linear_decay", "inverse_sqrt", "warmup", "sgdr", "reduce_on_plateau",
    "ReduceOnPlateauState",
    # second-order methods, line searches and the full-batch solver
    "newton", "lbfgs", "minimize", "scale_by_newton", "scale_by_lbfgs",
    "scale_by_backtracking_linesearch", "scale_by_zoom_linesearch", "ScaleByLbfgsState",
    "LinesearchState", "MinimizeResult",
    # convergence theory on quadratics (a module)
    "theory",
    # gradient checks
    "gradcheck", "GradcheckReport", "GradcheckError", "LeafCheck",
    # reliability: skipping non-finite steps, atomic checkpoints
    "skip_nonfinite", "SkipNonfiniteState", "all_finite", "save_checkpoint",
    "latest_checkpoint", "checkpoint_paths", "save_tree", "restore_tree",
    # sweeps
    "run_sweep", "SweepResult", "search_space", "sweep_report",
    # models, losses and random search (modules), digits and the pure training loop
    "MLP", "LinearClassifier", "losses", "random_search", "digits", "train", "evaluate",
    "evaluation_steps", "trained_model", "TrainResult", "Metrics", "data_mesh",
    # optax's, re-exported
    "chain", "apply_updates",
]
