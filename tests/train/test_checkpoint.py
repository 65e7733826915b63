"""Checkpoints (orbax): kill a run anywhere, resume, and get bit-identical parameters and
optimizer state; a kill during a save keeps the previous checkpoint; steps only go forward;
nothing outside the folder is followed; mismatches and damage name the checkpoint and leaf.

20 deterministic kill points: 3 real SIGKILLs of a worker process (tests/checkpoint_worker.py),
one of them in the middle of a save, and 17 resumes of the same program from the folder an
interruption at that step leaves (its two newest checkpoints up to that step, copied from the
uninterrupted run, which saved the very same bits: an orbax save costs about 0.1-0.2 s here,
so each resume re-saves only what follows its kill point); one in-process interruption checks
that it leaves exactly that folder.
"""
import os
import shutil
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
  """Every leaf as (type, dtype, bytes), typed PRNG keys as their key data: equal means
  bit-identical, and of the same kind (JAX array, NumPy array, Python number)."""
  def one(x):
    if isinstance(x, (bool, int, float)):
      return type(x).__name__, repr(x)
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
      return "key", str(jax.random.key_impl(x)), np.asarray(jax.random.key_data(x)).tobytes()
    return isinstance(x, np.ndarray), str(x.dtype), np.asarray(x).tobytes()
  return [one(x) for x in jax.tree.leaves(tree)]


@pytest.fixture(scope="module")
def uninterrupted_run(tmp_path_factory):
  """The final state of a run that was never interrupted, and its folder (every checkpoint)."""
  folder = tmp_path_factory.mktemp("uninterrupted")
  final = train(folder, keep=TOTAL_STEPS)
  assert int(final.step) == TOTAL_STEPS
  assert bits(final.params) != bits(initial_state().params)  # training moved the parameters
  return final, folder


@pytest.fixture(scope="module")
def uninterrupted(uninterrupted_run):
  return uninterrupted_run[0]


def folder_left_by_a_kill_at(kill_at: int, saved: Path, into: Path) -> Path:
  for path in [p for p in checkpoint_paths(saved) if int(p.name) <= kill_at][-2:]:
    shutil.copytree(path, into / path.name)
  return into


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
def test_resume_after_an_interruption_is_bit_identical(kill_at, tmp_path, uninterrupted_run):
  final, saved = uninterrupted_run
  folder = folder_left_by_a_kill_at(kill_at, saved, tmp_path)
  assert latest_checkpoint(folder).name == str(kill_at // SAVE_EVERY * SAVE_EVERY)
  assert bits(train(folder)) == bits(final)


def test_an_interruption_leaves_its_newest_checkpoints(tmp_path, uninterrupted_run):
  kill_at = SIMULATED[len(SIMULATED) // 2]
  with pytest.raises(Interrupted):
    train(tmp_path / "interrupted", stop_at=kill_at)
  copied = folder_left_by_a_kill_at(kill_at, uninterrupted_run[1], tmp_path / "copied")
  assert [p.name for p in checkpoint_paths(tmp_path / "interrupted")] == \
      [p.name for p in checkpoint_paths(copied)]
  latest = [restore_tree(latest_checkpoint(f), initial_state()) for f in
            (tmp_path / "interrupted", copied)]
  assert bits(latest[0]) == bits(latest[1])


def test_an_exception_inside_a_save_keeps_the_previous_step(tmp_path, monkeypatch):
  from orbax.checkpoint._src.path import atomicity
  tree = {"w": jnp.arange(3.0)}
  save_checkpoint(tmp_path, 1, tree)

  async def interrupted(self, *args, **kwargs):
    raise KeyboardInterrupt

  with monkeypatch.context() as patch:
    patch.setattr(atomicity.AtomicRenameTemporaryPath, "finalize", interrupted)
    with pytest.raises(KeyboardInterrupt):
      save_checkpoint(tmp_path, 2, {"w": jnp.zeros(3)})
  assert [p.name for p in checkpoint_paths(tmp_path)] == ["1"]
  np.testing.assert_array_equal(restore_tree(latest_checkpoint(tmp_path), tree)["w"], [0, 1, 2])
  save_checkpoint(tmp_path, 3, tree)
  assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "3"]  # no temporary folder left


def test_keep_deletes_all_but_the_highest_steps(tmp_path):
  for step in (0, 5, 10, 15):
    save_checkpoint(tmp_path, step, {"step": jnp.int32(step)}, keep=2)
  assert [p.name for p in checkpoint_paths(tmp_path)] == ["10", "15"]
  assert latest_checkpoint(tmp_path / "missing") is None


def test_an_older_or_repeated_step_is_refused_and_deletes_nothing(tmp_path):
  """keep=1 after step 200 must not lose step 200 to a save of step 150 (or 200 again)."""
  save_checkpoint(tmp_path, 200, {"w": jnp.ones(2)}, keep=1)
  for step in (150, 200):
    with pytest.raises(ValueError, match=rf"step={step}\): step must be above the latest step "
                                         rf"200 .*, got {step}$"):
      save_checkpoint(tmp_path, step, {"w": jnp.zeros(2)}, keep=1)
  assert [p.name for p in checkpoint_paths(tmp_path)] == ["200"]
  np.testing.assert_array_equal(restore_tree(latest_checkpoint(tmp_path),
                                             {"w": jnp.ones(2)})["w"], [1, 1])


def test_a_link_named_like_a_step_is_never_followed(tmp_path):
  """A symlink `9999999999` to a folder outside is not the latest step, and a save refuses the
  folder rather than let keep-N count it (orbax's manager would list it as its latest step)."""
  folder, outside = tmp_path / "runs", tmp_path / "outside"
  (outside / "9").mkdir(parents=True)
  (outside / "9" / "precious.txt").write_text("keep me")
  for step in (1, 2):
    save_checkpoint(folder, step, {"w": jnp.full(2, step)}, keep=2)
  (folder / "9999999999").symlink_to(outside)
  (folder / "123").write_text("a file named like a step")
  assert [p.name for p in checkpoint_paths(folder)] == ["1", "2"]
  with pytest.raises(ValueError, match=r"is named like a checkpoint but is a (symbolic link|"
                                       r"file); remove it"):
    save_checkpoint(folder, 3, {"w": jnp.zeros(2)}, keep=2)
  with pytest.raises(ValueError, match="not a checkpoint folder"):
    restore_tree(folder / "9999999999", {"w": jnp.zeros(2)})
  assert (outside / "9" / "precious.txt").read_text() == "keep me"
  assert [p.name for p in checkpoint_paths(folder)] == ["1", "2"]


@pytest.mark.parametrize("impl", ["threefry2x32", "rbg"])
def test_typed_prng_keys_round_trip_with_their_implementation(impl, tmp_path):
  key = jax.random.key(7, impl=impl)
  tree = {"key": key, "keys": jax.random.split(key, 4), "raw": jax.random.PRNGKey(3)}
  path = save_tree(tmp_path / "keys", tree)
  restored = restore_tree(path, like=jax.eval_shape(lambda: tree))  # ShapeDtypeStructs suffice
  assert str(jax.random.key_impl(restored["key"])) == impl
  assert bits(restored) == bits(tree)
  np.testing.assert_array_equal(jax.random.normal(restored["keys"][2], (3,)),
                                jax.random.normal(tree["keys"][2], (3,)))


def test_every_dtype_round_trips_bit_for_bit_with_x64_off(tmp_path):
  """NumPy float64/int64 leaves stay 64-bit and NumPy (they came back as [8.000002, 1024.0002]
  and [1, 3] when read through float32/int32), low precision floats keep their bits."""
  assert not jax.config.jax_enable_x64
  tree = {"f64": np.array([1.5, 2.5, 3.5, 4.5]), "i64": np.array([1, 2, 3, 2 ** 40]),
          "bf16": jnp.array([1.5, -2.25, jnp.nan], jnp.bfloat16),
          "f8": jnp.array([1.5, -2.0, 448.0], jnp.float8_e4m3fn),
          "f8b": jnp.array([0.5, -57344.0], jnp.float8_e5m2),
          "f16": jnp.array([65504.0, -0.0], jnp.float16), "count": jnp.int32(2 ** 31 - 1),
          "flag": jnp.array(True), "u8": np.arange(3, dtype=np.uint8), "steps": 12,
          "rate": 0.1, "state": jl.adam(0.1).init({"w": jnp.ones(2, jnp.bfloat16)})}
  restored = restore_tree(save_tree(tmp_path / "t", tree), tree)
  assert bits(restored) == bits(tree)
  assert jax.tree.structure(restored) == jax.tree.structure(tree)
  assert isinstance(restored["f64"], np.ndarray) and restored["i64"][-1] == 2 ** 40
  assert restored["steps"] == 12 and type(restored["rate"]) is float


def test_a_jax_target_of_64_bits_with_x64_off_is_refused(tmp_path):
  path = save_tree(tmp_path / "t", {"w": np.arange(3.0)})
  with pytest.raises(ValueError, match=r"leaf \['w'\] is float64, which a JAX array holds only "
                                       r"with jax_enable_x64"):
    restore_tree(path, {"w": jax.ShapeDtypeStruct((3,), np.float64)})


def test_save_tree_never_overwrites(tmp_path):
  path = save_tree(tmp_path / "t", {"w": jnp.ones(2)})
  with pytest.raises(ValueError, match=r"path must not exist yet"):
    save_tree(path, {"w": jnp.zeros(2)})
  np.testing.assert_array_equal(restore_tree(path, {"w": jnp.zeros(2)})["w"], [1, 1])


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
  path = save_tree(tmp_path / "state", STATE)
  with pytest.raises(ValueError, match=r"^restore_tree\('.*state'\): " + message):
    restore_tree(path, like=target)


def test_another_optimizer_state_is_a_mismatch(tmp_path):
  params = {"w": jnp.ones(3)}
  path = save_tree(tmp_path / "adam", jl.adam(0.1).init(params))
  with pytest.raises(ValueError, match=r"\[0\]\.velocity\['w'\]"):
    restore_tree(path, like=jl.momentum(0.1).init(params))


def test_a_folder_that_is_not_a_checkpoint(tmp_path):
  (tmp_path / "x").mkdir()
  (tmp_path / "x" / "junk").write_bytes(b"not a checkpoint")
  with pytest.raises(ValueError, match=r"x'\): not a readable checkpoint"):
    restore_tree(tmp_path / "x", STATE)
  (tmp_path / "y.npz").write_bytes(b"an old single-file checkpoint")
  with pytest.raises(ValueError, match="not a checkpoint folder"):
    restore_tree(tmp_path / "y.npz", STATE)


def damage(path, member: str):
  """Flips a byte in the middle of every file of the checkpoint's `member` item."""
  target = path / member
  for file in [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file()):
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))


@pytest.mark.parametrize("damaged, message", [
    ("state/d", r"leaf \[.*\] is damaged or unreadable|its data is damaged"),
    ("state/manifest.ocdbt", r"leaf \[.*\] is damaged or unreadable|its data is damaged"),
    ("manifest", "not a readable checkpoint"),
])
def test_a_damaged_checkpoint_is_one_value_error_naming_it(damaged, message, tmp_path):
  path = save_tree(tmp_path / "state", STATE)
  damage(path, damaged)
  with pytest.raises(ValueError, match=r"^restore_tree\('.*state'\): (" + message + ")") as error:
    restore_tree(path, STATE)
  assert "\n" not in str(error.value)


def test_data_that_disagrees_with_its_checksum_names_the_leaf(tmp_path):
  """Data orbax reads without complaint but that differs from what was saved."""
  import json
  path = save_tree(tmp_path / "state", STATE)
  manifest = next(p for p in (path / "manifest").iterdir() if p.name == "metadata")
  record = json.loads(manifest.read_text())
  next(leaf for leaf in record["leaves"] if leaf["path"] == "['params']['w']")["sha256"] = "0" * 64
  manifest.write_text(json.dumps(record))
  with pytest.raises(ValueError, match=r"leaf \['params'\]\['w'\] is damaged \(its checksum"):
    restore_tree(path, STATE)


# The real kills last: their worker processes started with the module and ran alongside.

@pytest.mark.parametrize("kill_at", REAL_KILLS)
def test_resume_after_a_real_kill_is_bit_identical(kill_at, killed_workers, uninterrupted):
  folder, code, stderr = killed_workers[f"kill-at-{kill_at}"]
  assert code == -signal.SIGKILL, stderr
  assert latest_checkpoint(folder).name == str(kill_at // SAVE_EVERY * SAVE_EVERY)
  assert bits(train(folder)) == bits(uninterrupted)


def test_a_kill_during_a_save_leaves_the_previous_checkpoint_loadable(killed_workers,
                                                                      uninterrupted):
  folder, code, stderr = killed_workers["kill-in-save"]
  assert code == -signal.SIGKILL, stderr
  partial = [p for p in folder.iterdir() if p.name.startswith(f"{KILL_IN_SAVE}.")]
  assert len(partial) == 1 and "tmp" in partial[0].name  # orbax's temporary folder
  previous = KILL_IN_SAVE - SAVE_EVERY
  assert latest_checkpoint(folder).name == str(previous)
  assert int(restore_tree(latest_checkpoint(folder), initial_state()).step) == previous
  assert bits(train(folder)) == bits(uninterrupted)
  assert not [p for p in folder.iterdir() if "tmp" in p.name]  # the next save removed it
