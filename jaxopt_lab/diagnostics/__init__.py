"""Is training healthy? Gradient checks (analytic against numeric derivatives) and gradient
flow (vanishing and exploding gradients, products of layer Jacobians, dead ReLUs).

  report = jaxopt_lab.diagnostics.gradcheck(loss, params)   # gradient_check.py
  jaxopt_lab.diagnostics.gradient_flow.layer_gradient_norms(params, x, y, "tanh")
"""
from jaxopt_lab.diagnostics import gradient_flow
from jaxopt_lab.diagnostics.gradient_check import (
    GradcheckError, GradcheckReport, LeafCheck, gradcheck)

__all__ = ["gradcheck", "GradcheckReport", "GradcheckError", "LeafCheck", "gradient_flow"]
