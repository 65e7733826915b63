"""Convergence theory on quadratics: closed-form rates and optima, measured rates, test problems.

  jaxopt_lab.theory.momentum_optimal(eigenvalues)       # rates.py: closed forms (NumPy float64)
  jaxopt_lab.theory.linear_rate(optimizer, hessian)     # linear_rate.py: any linear optimizer
  jaxopt_lab.theory.polyak_average_variance(...)        # averaging.py: averaged SGD's noise
  jaxopt_lab.theory.problems.rosenbrock()               # problems.py: test functions
  jaxopt_lab.theory.plots.draw_momentum_rate_map(...)   # plots.py (imports matplotlib on use)
"""
import importlib

from jaxopt_lab.theory import problems
from jaxopt_lab.theory.averaging import *  # noqa: F401,F403
from jaxopt_lab.theory.averaging import __all__ as _averaging
from jaxopt_lab.theory.rates import *  # noqa: F401,F403
from jaxopt_lab.theory.rates import __all__ as _rates

__all__ = [*_rates, *_averaging, "problems", "plots"]


def __getattr__(name: str):
  if name == "plots":  # matplotlib is imported only by those who draw
    return importlib.import_module(f"{__name__}.plots")
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
