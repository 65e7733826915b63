"""`jaxopt-lab` with a signal sent to itself right after the N-th chunk of a sweep is saved,
for the crash and Ctrl-C tests of tests/studies/test_sweep_cli.py.

  python tests/sweep_worker.py SIGKILL 1 sweep --dataset quadratic ... --out DIR

SIGKILL ends the process at once, as a crash would; SIGINT is what Ctrl-C sends.
"""
import os
import signal
import sys

from jaxopt_lab import cli
from jaxopt_lab.sweeps import store


def main(argv):
  name, after, arguments = argv[0], int(argv[1]), argv[2:]
  real_save, saves = store.save_chunk, []

  def save_chunk(*args, **kwargs):
    real_save(*args, **kwargs)
    saves.append(1)
    if len(saves) == after:
      os.kill(os.getpid(), getattr(signal, name))

  store.save_chunk = save_chunk
  return cli.main(arguments)


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
