"""Run by tests/sweeps/test_engine.py in a process with 8 forced host devices; saves the sharded sweep."""
import sys

import jax
import numpy as np

from jaxopt_lab.sweeps.engine import default_mesh, run_sweep
from quadratic_sweep import columns, run

mesh = default_mesh()
result = run_sweep(run, columns(np.logspace(-2, 0, 12)), seeds=[0, 1], chunk_size=8,
                   mesh=mesh, progress=False)
np.savez(sys.argv[1], train_loss=result.curves["train_loss"], devices=mesh.devices.size)
