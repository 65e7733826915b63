"""Is training healthy? Gradient checks (analytic against numeric derivatives), gradient
flow (vanishing and exploding gradients, products of layer Jacobians, dead ReLUs) and the
diagnosis of a run from its curves (learning rate too high or too low, under- and
overfitting, update/weight ratios, dead ReLUs).

  report = jaxopt_lab.diagnostics.gradcheck(loss, params)   # gradient_check.py
  jaxopt_lab.diagnostics.gradient_flow.layer_gradient_norms(params, x, y, "tanh")
  jaxopt_lab.diagnostics.diagnose(run_curves(result), eval_steps)   # diagnosis.py
"""
from jaxopt_lab.diagnostics import gradient_flow
from jaxopt_lab.diagnostics.diagnosis import FINDINGS, Finding, Thresholds, diagnose
from jaxopt_lab.diagnostics.gradient_check import (
    GradcheckError, GradcheckReport, LeafCheck, gradcheck)

__all__ = ["gradcheck", "GradcheckReport", "GradcheckError", "LeafCheck", "gradient_flow",
           "diagnose", "Finding", "Thresholds", "FINDINGS"]
