"""Checkpoints: kill a run anywhere, resume, and get bit-identical parameters and optimizer
state; a kill during a save keeps the previous checkpoint; mismatches name the leaf path.

20 deterministic kill points: 3 real SIGKILLs of a worker process (tests/checkpoint_worker.py)
and 17 in-process interruptions of the same program, plus one SIGKILL halfway through a save.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lab as jl
from checkpoint_worker import SAVE_EVERY, TOTAL_STEPS, Interrupted, initial_state, train
from jaxopt_lab.train.checkpoint import (
    checkpoint_paths, latest_checkpoint, restore_tree, save_checkpoint, save_tree)

WORKER = Path(__file__).parents[1] / "checkpoint_worker.py"
CHECKOUT = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))  # this checkout's package
KILL_POINTS = sorted(int(k) for k in
                     np.random.default_rng(7).choice(np.arange(1, TOTAL_STEPS), 20, replace=False))
# 3 of the 20 are real SIGKILLs of a worker: one halfway through the save of a step that is
# saved (its previous checkpoint must survive), two between steps; the other 17 run in-process.
KILL_IN_SAVE = next(k for k in KILL_POINTS if k % SAVE_EVERY == 0 and k > SAVE_EVERY)
REAL_KILLS = [k for k in KILL_POINTS if k != KILL_IN_SAVE][5::10]
SIMULATED = [k for k in KILL_POINTS if k not in REAL_KILLS and k != KILL_IN_SAVE]


def bits(tree) -> list:
  """Every leaf as (dtype, bytes), typed PRNG keys as their key data: equal means bit-identical."""
  as_array = lambda x: jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x
  return [(str(x.dtype), np.asarray(as_array(x)).tobytes()) for x in jax.tree.leaves(tree)]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  final = train(tmp_path_factory.mktemp("uninterrupted"))
  assert int(final.step) == TOTAL_STEPS
  assert bits(final.params) != bits(initial_state().params)  # training moved the parameters
  return final


@pytest.fixture(scope="module", autouse=True)
def started_workers(tmp_path_factory):
  """Starts every worker process with the module, so they run while the in-process tests do:
  {name: (folder, process)}."""
  runs = {f"kill-at-{k}": ["--kill-at", str(k)] for k in REAL_KILLS}
  runs["kill-in-save"] = ["--kill-in-save", str(KILL_IN_SAVE)]
  started = {}
  for name, flags in runs.items():
    folder = tmp_path_factory.mktemp(name)
    started[name] = (folder, subprocess.Popen([sys.executable, str(WORKER), str(folder), *flags],
                                              stderr=subprocess.PIPE, env=CHECKOUT))
  yield started
  for _, process in started.values():
    if process.poll() is None:
      process.kill()
      process.wait()


@pytest.fixture(scope="module")
def killed_workers(started_workers):
  """{name: (folder, return code, stderr)} once every worker has ended."""
  results = {}
  for name, (folder, process) in started_workers.items():
    _, stderr = process.communicate(timeout=300)
    results[name] = (folder, process.returncode, stderr.decode())
  return results


def test_the_kill_points_are_fixed_and_spread():
  assert len(KILL_POINTS) == len(set(KILL_POINTS)) == 20
  assert len(SIMULATED) + len(REAL_KILLS) + 1 == 20 and len(REAL_KILLS) == 2
  assert min(KILL_POINTS) < 5 and max(KILL_POINTS) > TOTAL_STEPS - 5
  assert any(k % SAVE_EVERY == 0 for k in KILL_POINTS) and any(k % SAVE_EVERY for k in KILL_POINTS)


@pytest.mark.parametrize("kill_at", SIMULATED)
def test_resume_after_an_interruption_is_bit_identical(kill_at, tmp_path, uninterrupted):
  with pytest.raises(Interrupted):
    train(tmp_path, stop_at=kill_at)
  assert latest_checkpoint(tmp_path).name == f"step_{kill_at // SAVE_EVERY * SAVE_EVERY:010d}.npz"
  assert bits(train(tmp_path)) == bits(uninterrupted)


def test_an_exception_inside_a_save_removes_its_temporary_file(tmp_path, monkeypatch):
  tree = {"w": jnp.arange(3.0)}
  save_checkpoint(tmp_path, 1, tree)

  def interrupted_savez(file, **arrays):
    file.write(b"PK\x03\x04 partial")
    raise KeyboardInterrupt

  monkeypatch.setattr(np, "savez", interrupted_savez)
  with pytest.raises(KeyboardInterrupt):
    save_checkpoint(tmp_path, 2, {"w": jnp.zeros(3)})
  assert [p.name for p in tmp_path.iterdir()] == ["step_0000000001.npz"]
  np.testing.assert_array_equal(restore_tree(latest_checkpoint(tmp_path), tree)["w"], [0, 1, 2])


def test_keep_deletes_all_but_the_newest(tmp_path):
  for step in (0, 5, 10, 15):
    save_checkpoint(tmp_path, step, {"step": jnp.int32(step)}, keep=2)
  assert [p.name for p in checkpoint_paths(tmp_path)] == ["step_0000000010.npz",
                                                          "step_0000000015.npz"]
  assert latest_checkpoint(tmp_path / "missing") is None


@pytest.mark.parametrize("impl", ["threefry2x32", "rbg"])
def test_typed_prng_keys_round_trip_with_their_implementation(impl, tmp_path):
  key = jax.random.key(7, impl=impl)
  tree = {"key": key, "keys": jax.random.split(key, 4), "raw": jax.random.PRNGKey(3)}
  path = save_tree(tmp_path / "keys.npz", tree)
  restored = restore_tree(path, like=jax.eval_shape(lambda: tree))  # ShapeDtypeStructs suffice
  assert str(jax.random.key_impl(restored["key"])) == impl
  assert bits(restored) == bits(tree)
  np.testing.assert_array_equal(jax.random.normal(restored["keys"][2], (3,)),
                                jax.random.normal(tree["keys"][2], (3,)))


def test_low_precision_and_integer_leaves_round_trip(tmp_path):
  tree = {"bf16": jnp.array([1.5, -2.25, jnp.nan], jnp.bfloat16),
          "f16": jnp.array([65504.0, -0.0], jnp.float16), "count": jnp.int32(2 ** 31 - 1),
          "flag": jnp.array(True), "state": jl.adam(0.1).init({"w": jnp.ones(2, jnp.bfloat16)})}
  restored = restore_tree(save_tree(tmp_path / "t.npz", tree), tree)
  assert bits(restored) == bits(tree)
  assert jax.tree.structure(restored) == jax.tree.structure(tree)


STATE = {"params": {"w": jnp.ones(3), "b": jnp.zeros(2)}, "key": jax.random.key(0),
         "step": jnp.int32(4)}


@pytest.mark.parametrize("target,message", [
    ({**STATE, "params": {"w": jnp.ones(3)}},
     r"the checkpoint has a leaf at \['params'\]\['b'\] that the target lacks"),
    ({**STATE, "params": {**STATE["params"], "c": jnp.ones(1)}},
     r"the target has a leaf at \['params'\]\['c'\] that the checkpoint lacks"),
    ({**STATE, "params": {"w": jnp.ones(3, jnp.bfloat16), "b": jnp.zeros(2)}},
     r"leaf \['params'\]\['w'\] is float32\[3\] in the checkpoint, the target wants "
     r"bfloat16\[3\]"),
    ({**STATE, "params": {"w": jnp.ones(4), "b": jnp.zeros(2)}},
     r"leaf \['params'\]\['w'\] is float32\[3\] in the checkpoint, the target wants float32\[4\]"),
    ({**STATE, "key": jax.random.PRNGKey(0)},
     r"leaf \['key'\] is key<fry>\[\] in the checkpoint, the target wants uint32\[2\]"),
    ({**STATE, "step": jnp.float32(4)}, r"leaf \['step'\] is int32\[\] in the checkpoint"),
], ids=["missing", "extra", "dtype", "shape", "typed-vs-raw-key", "step-dtype"])
def test_a_mismatched_target_names_the_leaf_path(target, message, tmp_path):
  path = save_tree(tmp_path / "state.npz", STATE)
  with pytest.raises(ValueError, match=r"^restore_tree\('.*state\.npz'\): " + message):
    restore_tree(path, like=target)


def test_another_optimizer_state_is_a_mismatch(tmp_path):
  params = {"w": jnp.ones(3)}
  path = save_tree(tmp_path / "adam.npz", jl.adam(0.1).init(params))
  with pytest.raises(ValueError, match=r"\[0\]\.velocity\['w'\]"):
    restore_tree(path, like=jl.momentum(0.1).init(params))


def test_a_file_that_is_not_a_checkpoint(tmp_path):
  (tmp_path / "x.npz").write_bytes(b"not a zip file")
  with pytest.raises(ValueError, match="not a readable checkpoint"):
    restore_tree(tmp_path / "x.npz", STATE)
  np.savez(tmp_path / "y.npz", meta=np.frombuffer(b'{"format": "other"}', np.uint8))
  with pytest.raises(ValueError, match="format 'other'"):
    restore_tree(tmp_path / "y.npz", STATE)


# The real kills last: their worker processes started with the module and ran alongside.

@pytest.mark.parametrize("kill_at", REAL_KILLS)
def test_resume_after_a_real_kill_is_bit_identical(kill_at, killed_workers, uninterrupted):
  folder, code, stderr = killed_workers[f"kill-at-{kill_at}"]
  assert code == -signal.SIGKILL, stderr
  assert latest_checkpoint(folder).name == f"step_{kill_at // SAVE_EVERY * SAVE_EVERY:010d}.npz"
  assert bits(train(folder)) == bits(uninterrupted)


def test_a_kill_during_a_save_leaves_the_previous_checkpoint_loadable(killed_workers,
                                                                      uninterrupted):
  folder, code, stderr = killed_workers["kill-in-save"]
  assert code == -signal.SIGKILL, stderr
  partial = list(folder.glob(".step_*.tmp"))
  assert len(partial) == 1 and partial[0].name.startswith(f".step_{KILL_IN_SAVE:010d}.npz")
  assert partial[0].stat().st_size < latest_checkpoint(folder).stat().st_size
  with pytest.raises(ValueError, match="not a readable checkpoint"):
    restore_tree(partial[0], initial_state())
  previous = KILL_IN_SAVE - SAVE_EVERY
  assert latest_checkpoint(folder).name == f"step_{previous:010d}.npz"
  assert int(restore_tree(latest_checkpoint(folder), initial_state()).step) == previous
  assert bits(train(folder)) == bits(uninterrupted)
  assert not list(folder.glob(".step_*.tmp"))  # the next save removed the partial file
