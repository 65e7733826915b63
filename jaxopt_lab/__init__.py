"""jaxopt_lab: optimizers as pure gradient transformations, sweeps, gradient checks and theory."""
from optax import apply_updates, chain

from jaxopt_lab.optimizers import (
    adagrad, adam, adamw, amsgrad, momentum, nesterov, rmsprop, sgd)
from jaxopt_lab.transforms import (
    ScaleByAdagradState, ScaleByAdamState, ScaleByAmsgradState, ScaleByLearningRateState,
    ScaleByMomentumState, ScaleByNesterovState, ScaleByRmsState, add_decayed_weights,
    clip_by_global_norm, global_norm, scale_by_adagrad, scale_by_adam, scale_by_amsgrad,
    scale_by_learning_rate, scale_by_momentum, scale_by_nesterov, scale_by_rms)
from jaxopt_lab.velocity_forms import (
    VelocityState, momentum_velocity_form, nesterov_change_of_variables,
    nesterov_lookahead_form, nesterov_lookahead_point)

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
    # optax's, re-exported
    "chain", "apply_updates",
]
