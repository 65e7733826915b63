"""One process of a 2-process sweep on localhost (CPU), for tests/sweeps/test_multihost.py.

  python tests/multihost_worker.py PORT PROCESS_ID OUT

Both processes call `jax.distributed.initialize` with the coordinator on 127.0.0.1:PORT, run
the same `run_sweep` over the 2-device global mesh (one CPU device each), then again (every
chunk loaded by process 0 and shared); process 0 writes the sweep folder OUT/sweep and the
table and curves to OUT/table.csv, OUT/curves.npz.
"""
import sys
from pathlib import Path

import jax

PROCESSES = 2


def main(port: str, process_id: str, out: str):
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.config.update("jax_num_cpu_devices", 1)
  jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}",
                             num_processes=PROCESSES, process_id=int(process_id),
                             initialization_timeout=60)
  import numpy as np
  from quadratic_sweep import columns, run
  from jaxopt_lab.sweeps.engine import default_mesh, run_sweep

  mesh = default_mesh()
  assert mesh is not None and mesh.devices.size == PROCESSES, mesh
  sweep = lambda: run_sweep(run, columns(np.logspace(-2, 0, 12)), seeds=[0, 1], chunk_size=8,
                            mesh=mesh, out=Path(out) / "sweep", progress=False)
  result = sweep()
  again = sweep()   # every chunk loaded by process 0 and shared with process 1
  assert again.runs_loaded == 24 and again.chunks_computed == 0, again.runs_loaded
  assert again.table.equals(result.table)
  if jax.process_index() == 0:
    result.table.to_csv(Path(out) / "table.csv", index=False)
    np.savez(Path(out) / "curves.npz", **result.curves)
  jax.distributed.shutdown()


if __name__ == "__main__":
  main(*sys.argv[1:])
