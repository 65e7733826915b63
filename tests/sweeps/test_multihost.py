"""Multi-host for real: 2 processes on localhost joined by `jax.distributed.initialize` (CPU,
gloo collectives, coordinator on 127.0.0.1) run one sharded sweep; its table and curves equal
the single-process sweep's, process 0 writes the folder, and the same call again loads every
chunk on both processes (tests/multihost_worker.py)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from quadratic_sweep import columns, run
from jaxopt_lab.sweeps import store
from jaxopt_lab.sweeps.engine import run_sweep

TESTS = Path(__file__).parents[1]


def free_port() -> int:
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    return probe.getsockname()[1]


def test_two_processes_shard_one_sweep_equal_to_one_process(tmp_path):
  environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS.parent), str(TESTS)]))
  environment.pop("XLA_FLAGS", None)
  port = free_port()
  workers = [subprocess.Popen([sys.executable, str(TESTS / "multihost_worker.py"), str(port),
                               str(process), str(tmp_path)], env=environment,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for process in range(2)]
  outputs = [worker.communicate(timeout=240)[0] for worker in workers]
  assert [worker.returncode for worker in workers] == [0, 0], outputs
  single = run_sweep(run, columns(np.logspace(-2, 0, 12)), seeds=[0, 1], chunk_size=8,
                     mesh=None, progress=False)
  table = pd.read_csv(tmp_path / "table.csv")
  pd.testing.assert_frame_equal(table, single.table, check_dtype=False, rtol=1e-6)
  np.testing.assert_allclose(np.load(tmp_path / "curves.npz")["train_loss"],
                             single.curves["train_loss"], rtol=1e-6, atol=1e-30)
  assert store.saved_runs(tmp_path / "sweep") == 24   # process 0 saved every chunk
  assert sorted(p.name for p in (tmp_path / "sweep" / "chunks").iterdir()) == [
      "chunk-00000.npz", "chunk-00001.npz", "chunk-00002.npz"]   # 24 rows, 8 per chunk
