"""A small training run that checkpoints as it goes, for the kill-and-resume tests.

  python tests/checkpoint_worker.py DIR [--kill-at STEP | --kill-in-save STEP]

trains to TOTAL_STEPS, saving every SAVE_EVERY steps under DIR, resuming from DIR's latest
checkpoint if there is one. --kill-at sends itself SIGKILL before step STEP; --kill-in-save
sends it when every file of step STEP's checkpoint is written but the folder is not yet
renamed into place, leaving orbax's temporary folder.
test_checkpoint.py imports `train` to run the same program in-process.
"""
import argparse
import os
import signal
import sys
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lab as jl
from jaxopt_lab.train.checkpoint import latest_checkpoint, restore_tree, save_checkpoint
from jaxopt_lab.optim.nonfinite import skip_nonfinite

TOTAL_STEPS = 40
SAVE_EVERY = 5
BATCH = 16


class TrainState(NamedTuple):
  params: dict
  opt_state: optax.OptState
  key: jax.Array   # typed PRNG key: draws the minibatches
  step: jax.Array  # int32


class Interrupted(Exception):
  """Raised by `train` at `stop_at`: the in-process stand-in for a kill."""


def problem():
  """Three Gaussian blobs in 2-D, an MLP 2 -> 16 -> 3, AdamW behind skip_nonfinite."""
  rng = np.random.default_rng(0)
  labels = np.arange(120) % 3
  angles = 2 * np.pi * labels / 3
  x = np.stack([np.cos(angles), np.sin(angles)], 1) * 2 + rng.normal(size=(120, 2))
  return jnp.float32(x), jnp.int32(labels), skip_nonfinite(jl.adamw(0.05, weight_decay=1e-3))


X, Y, OPTIMIZER = problem()


@jax.jit
def initial_state() -> TrainState:
  keys = jax.random.split(jax.random.key(42), 3)
  params = {"hidden": 0.5 * jax.random.normal(keys[0], (2, 16)), "bias": jnp.zeros(16),
            "out": 0.5 * jax.random.normal(keys[1], (16, 3))}
  return TrainState(params, OPTIMIZER.init(params), keys[2], jnp.int32(0))


def loss(params, x, y):
  logits = jnp.tanh(x @ params["hidden"] + params["bias"]) @ params["out"]
  return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


@jax.jit
def train_step(state: TrainState) -> TrainState:
  key, batch_key = jax.random.split(state.key)
  index = jax.random.randint(batch_key, (BATCH,), 0, X.shape[0])
  grads = jax.grad(loss)(state.params, X[index], Y[index])
  updates, opt_state = OPTIMIZER.update(grads, state.opt_state, state.params)
  return TrainState(optax.apply_updates(state.params, updates), opt_state, key, state.step + 1)


def train(directory, stop_at: Optional[int] = None, on_stop=None, keep: int = 2) -> TrainState:
  """Runs (or resumes from the latest checkpoint) to TOTAL_STEPS, saving the state before every
  SAVE_EVERY-th step and keeping the `keep` newest checkpoints.

  At step `stop_at` (after that step's save, before the step) it calls `on_stop`, which
  by default raises Interrupted.
  """
  path = latest_checkpoint(directory)
  state = initial_state() if path is None else restore_tree(path, like=initial_state())
  resumed = None if path is None else int(state.step)  # saved already: steps only go forward
  while int(state.step) < TOTAL_STEPS:
    step = int(state.step)
    if step % SAVE_EVERY == 0 and step != resumed:
      save_checkpoint(directory, step, state, keep=keep)
    if step == stop_at:
      (on_stop or _raise_interrupted)()
    state = train_step(state)
  return state


def _raise_interrupted():
  raise Interrupted


def _kill_self():
  os.kill(os.getpid(), signal.SIGKILL)


def _kill_halfway_through_save(step: int):
  """Makes the save of `step` end in SIGKILL once orbax has written every file of it into its
  temporary folder, just before the rename that would complete it."""
  from orbax.checkpoint._src.path import atomicity
  real_finalize = atomicity.AtomicRenameTemporaryPath.finalize

  async def finalize(self, *args, **kwargs):
    if self.get_final().name == str(step):
      _kill_self()
    return await real_finalize(self, *args, **kwargs)

  atomicity.AtomicRenameTemporaryPath.finalize = finalize


def main(argv=None):
  parser = argparse.ArgumentParser()
  parser.add_argument("directory")
  parser.add_argument("--kill-at", type=int)
  parser.add_argument("--kill-in-save", type=int)
  args = parser.parse_args(argv)
  if args.kill_in_save is not None:
    _kill_halfway_through_save(args.kill_in_save)
  train(args.directory, stop_at=args.kill_at, on_stop=_kill_self)
  return 0


if __name__ == "__main__":
  sys.exit(main())
