"""Fault injection for sweeps: every fault ends in one ValueError line naming what is wrong
(before anything runs), or in a recomputed chunk with a warning naming the file; never a
traceback from deep inside NumPy or XLA, never a silently wrong or reused number.

Three tables, each row one fault: BAD_INPUTS (run_sweep's arguments and the run's outputs),
DAMAGED (files of a sweep folder, damaged between two calls) and REFUSED (folders holding
another sweep or held by another writer). Checkpoint faults live in tests/train.
"""
import json
import shutil
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quadratic_sweep import columns, run
from jaxopt_lab.files import write_atomically
from jaxopt_lab.sweeps import store
from jaxopt_lab.sweeps.engine import SweepInterrupted, run_sweep
from jaxopt_lab.sweeps.objective import Objective

RATES = np.logspace(-2, 0, 6)
SEEDS = [0, 1]
TRACES = []


def counted(hparams, key):
  TRACES.append(1)
  return run(hparams, key)


def with_metrics(extra):
  """The quadratic run with `extra(out)` metrics added (or returned instead, for non-dicts)."""
  def changed(hparams, key):
    out = run(hparams, key)
    return extra(out)
  return changed


BAD_INPUTS = {  # id: (run_sweep keyword arguments, fragments the one-line message must hold)
    "int-dtype": (dict(dtype=jnp.int32), ["dtype=int32", "float32 or float64"]),
    "bf16-dtype": (dict(dtype=jnp.bfloat16), ["dtype=bfloat16", "0.999 as 1.0"]),
    "f64-without-x64": (dict(dtype=jnp.float64), ["dtype=float64", "jax_enable_x64"]),
    "seed-column": (dict(columns={"seed": RATES}), ["columns['seed']", "the table's own"]),
    "config-column": (dict(columns={"config": RATES}), ["columns['config']"]),
    "diverged-column": (dict(columns={"diverged": RATES}), ["columns['diverged']"]),
    "empty-name": (dict(columns={"": RATES}), ["columns['']", "non-empty strings"]),
    "nan-value": (dict(columns={**columns(RATES), "beta": [0.9, np.nan, 0.9, 0.9, 0.9, 0.9]}),
                  ["columns['beta'][1]=nan", "not NaN"]),
    "float32-overflow": (dict(columns=columns([0.1, 1e39])), ["[1]=1e+39", "float32 holds"]),
    "flushed-to-zero": (dict(columns=columns([0.1, 1e-50])), ["[1]=1e-50", "smallest normal"]),
    "text-values": (dict(columns={"learning_rate": ["0.1", "fast"], "beta": [0.9, 0.9]}),
                    ["columns['learning_rate']", "real numbers"]),
    "2d-column": (dict(columns={"learning_rate": np.ones((2, 2)), "beta": np.ones((2, 2))}),
                  ["shape (2, 2)", "1-D"]),
    "empty-column": (dict(columns={"learning_rate": [], "beta": []}), ["non-empty"]),
    "unequal-lengths": (dict(columns={"learning_rate": [0.1, 0.2], "beta": [0.9]}),
                        ["one length", "learning_rate: 2, beta: 1"]),
    "columns-not-a-dict": (dict(columns=[0.1, 0.2]), ["columns=list", "a dict"]),
    "negative-seed": (dict(seeds=[-1]), ["seeds[0]=-1", "[0, 4294967295]"]),
    "fractional-seeds": (dict(seeds=[0.5, 1.7]), ["seeds[0]=0.5", "integers"]),
    "seed-above-uint32": (dict(seeds=[2 ** 32]), ["seeds[0]=4294967296"]),
    "repeated-seed": (dict(seeds=[3, 3]), ["distinct", "3 more than once"]),
    "no-seed": (dict(seeds=[]), ["seeds=[]", "non-empty"]),
    "bool-seed": (dict(seeds=[True]), ["seeds[0]=True"]),
    "zero-chunk": (dict(chunk_size=0), ["chunk_size=0", "positive multiple"]),
    "fractional-chunk": (dict(chunk_size=2.5), ["chunk_size=2.5"]),
    "zero-budget": (dict(memory_budget=0, chunk_size=None), ["memory_budget=0"]),
    "nan-budget": (dict(memory_budget=float("nan"), chunk_size=None), ["memory_budget=nan"]),
    "budget-above-memory": (dict(memory_budget=1e30, chunk_size=None),
                            ["memory_budget=1e+30", "this device's memory"]),
    "run-not-callable": (dict(run="adam"), ["run='adam'", "a function"]),
    "out-is-a-file": (dict(out="FILE"), ["file')", "is a file, not a folder"]),
    "out-in-proc": (dict(out="/proc/x"), ["/proc/x", "cannot write there"]),
    "out-empty": (dict(out=""), ["run_sweep(out='')", "must name a folder"]),
}
TRACED = {  # faults seen in the run's outputs: after tracing it, before running it
    "tuple-metrics": (dict(run=with_metrics(lambda out: (out["train_loss"],))),
                      ["a dict of metrics", "got tuple"]),
    "2d-metric": (dict(run=with_metrics(lambda out: {**out, "pair": jnp.stack(
        [out["train_loss"]] * 2, -1)})), ["'pair' with shape (100, 2)", "one curve per column"]),
    "metric-named-seed": (dict(run=with_metrics(lambda out: {**out, "seed": out["final_norm"]})),
                          ["'seed'", "must differ"]),
    "metric-named-like-a-hyperparameter": (
        dict(run=with_metrics(lambda out: {**out, "beta": out["final_norm"]})), ["'beta'"]),
    "scalar-clashing-with-a-curve-column": (
        dict(run=with_metrics(lambda out: {**out, "final_train_loss": out["final_norm"]})),
        ["'final_train_loss'"]),
    "key-metric": (dict(run=with_metrics(lambda out: {**out, "key": jax.random.key(0)})),
                   ["'key'", "real numbers"]),
    "empty-curve": (dict(run=with_metrics(lambda out: {**out, "none": jnp.zeros(0)})),
                    ["'none' with shape (0,)"]),
    "unknown-objective-column": (dict(objective=Objective("best_accuracy", True)),
                                 ["objective.column='best_accuracy'", "a column of the table"]),
    "unknown-divergence-curve": (
        dict(objective=Objective("final_train_loss", False, divergence_curves=("val_loss",))),
        ["objective.divergence_curves='val_loss'", "train_loss"]),
    "one-run-beyond-the-budget": (dict(memory_budget=1000, chunk_size=None),
                                  ["memory_budget=1000", "one configuration's runs", "GiB"]),
    "explicit-chunk-beyond-the-budget": (dict(memory_budget=1000, chunk_size=4),
                                         ["chunk_size=4", "must fit in memory_budget"]),
}


def call(tmp_path, overrides):
  arguments = dict(run=counted, columns=columns(RATES), seeds=SEEDS, chunk_size=4,
                   progress=False) | overrides
  if arguments.get("out") == "FILE":
    (tmp_path / "file").write_text("not a folder")
    arguments["out"] = str(tmp_path / "file")
  return run_sweep(arguments.pop("run"), arguments.pop("columns"), **arguments)


@pytest.mark.parametrize("fault", list(BAD_INPUTS) + list(TRACED))
def test_a_bad_input_is_one_line_before_anything_runs(fault, tmp_path):
  overrides, fragments = {**BAD_INPUTS, **TRACED}[fault]
  TRACES.clear()
  with pytest.raises(ValueError) as error:
    call(tmp_path, overrides)
  message = str(error.value)
  assert "\n" not in message and message.startswith("run_sweep("), message
  assert all(fragment in message for fragment in fragments), message
  if fault in BAD_INPUTS:
    assert not TRACES  # refused before the run was even traced


def test_an_infinite_hyperparameter_is_a_value_the_table_keeps(tmp_path):
  """inf means something (early stopping's patience inf: never stop); only NaN and finite
  values float32 would turn into other numbers are refused."""
  result = call(tmp_path, dict(columns=columns([0.1, np.inf])))
  assert np.isinf(result.table.learning_rate).sum() == len(SEEDS)


@pytest.fixture(scope="module")
def clean():
  """The reference: the same sweep, never stored."""
  return run_sweep(run, columns(RATES), SEEDS, chunk_size=4, progress=False)


def stored(folder, rates=RATES, **options):
  return run_sweep(run, columns(rates), SEEDS, chunk_size=4, out=folder, progress=False,
                   **options)


def another_sweeps_chunk(folder, tmp_path):
  stored(tmp_path / "other", rates=RATES * 0.5)
  shutil.copy(tmp_path / "other" / "chunks" / "chunk-00001.npz", folder / "chunks" /
              "chunk-00001.npz")


def altered_data(folder, tmp_path):
  path = folder / "chunks" / "chunk-00001.npz"
  with np.load(path) as saved:
    members = {name: saved[name] for name in saved.files}
  members["train_loss"] = members["train_loss"] * 1.0000001
  np.savez(path, **members)  # the header (and its checksum) as it was


def wrong_shapes(folder, tmp_path):
  path = folder / "chunks" / "chunk-00001.npz"
  with np.load(path) as saved:
    members = {name: saved[name] for name in saved.files}
  piece = {"train_loss": members["train_loss"][:, :50], "final_norm": members["final_norm"]}
  header = json.loads(members[store.HEADER].tobytes())
  store.save_chunk(path, piece, header["fingerprint"], header["start"], header["stop"])


def no_header(folder, tmp_path):
  path = folder / "chunks" / "chunk-00001.npz"
  with np.load(path) as saved:
    members = {name: saved[name] for name in saved.files if name != store.HEADER}
  np.savez(path, **members)


def replaced_by(make):
  def damage(folder, tmp_path):
    path = folder / "chunks" / "chunk-00001.npz"
    path.unlink()
    make(path, tmp_path)
  return damage


DAMAGED = {  # id: (damage(folder, tmp_path), the file the warning names, its reason)
    "truncated": (lambda f, t: _truncate(f / "chunks" / "chunk-00001.npz", 661),
                  "chunk-00001.npz", "not a NumPy archive"),
    "empty": (lambda f, t: _truncate(f / "chunks" / "chunk-00001.npz", 0),
              "chunk-00001.npz", "unreadable"),
    "random-bytes": (lambda f, t: (f / "chunks" / "chunk-00001.npz").write_bytes(
        np.random.default_rng(0).bytes(700)), "chunk-00001.npz", "not a NumPy archive"),
    "copied-over-another-name": (lambda f, t: shutil.copy(f / "chunks" / "chunk-00000.npz",
                                                          f / "chunks" / "chunk-00001.npz"),
                                 "chunk-00001.npz", "holds rows [0, 4), not [4, 8)"),
    "another-sweeps-chunk": (another_sweeps_chunk, "chunk-00001.npz", "another sweep"),
    "altered-data": (altered_data, "chunk-00001.npz", "checksum does not match"),
    "wrong-metric-shapes": (wrong_shapes, "chunk-00001.npz", "its metrics are"),
    "no-header": (no_header, "chunk-00001.npz", "no header"),
    "a-link-in-its-place": (replaced_by(lambda p, t: p.symlink_to(p.parent / "chunk-00000.npz")),
                            "chunk-00001.npz", "not a regular file"),
    "damaged-manifest": (lambda f, t: (f / "sweep.json").write_text("{not json"),
                         "sweep.json", "is damaged"),
}


def _truncate(path, size):
  with open(path, "r+b") as file:
    file.truncate(size)


@pytest.mark.parametrize("fault", list(DAMAGED))
def test_a_damaged_file_is_recomputed_with_a_warning_naming_it(fault, tmp_path, clean):
  damage, name, reason = DAMAGED[fault]
  folder = tmp_path / "sweep"
  stored(folder)
  damage(folder, tmp_path)
  with pytest.warns(store.ChunkWarning) as caught:
    resumed = stored(folder)
  messages = [str(w.message) for w in caught]
  assert any(name in m and reason in m for m in messages), messages
  assert resumed.chunks_computed == (0 if fault == "damaged-manifest" else 1)
  assert resumed.table.equals(clean.table)
  np.testing.assert_array_equal(resumed.curves["train_loss"], clean.curves["train_loss"])
  again = stored(folder)  # the recomputed chunk was saved whole: nothing left to redo
  assert again.chunks_computed == 0 and again.table.equals(clean.table)


def test_a_folder_in_a_chunks_place_is_refused_not_deleted(tmp_path):
  stored(tmp_path)
  (tmp_path / "chunks" / "chunk-00001.npz").unlink()
  (tmp_path / "chunks" / "chunk-00001.npz").mkdir()
  (tmp_path / "chunks" / "chunk-00001.npz" / "notes.txt").write_text("mine")
  with pytest.raises(ValueError, match=r"chunk-00001.npz is a folder where a chunk belongs; "
                                       r"remove it"):
    stored(tmp_path)
  assert (tmp_path / "chunks" / "chunk-00001.npz" / "notes.txt").read_text() == "mine"


def test_a_lost_manifest_never_labels_old_numbers_with_new_values(tmp_path):
  """Issue 17, item 2: sweep.json deleted, then another grid into the folder."""
  folder = tmp_path / "sweep"
  stored(folder)
  (folder / "sweep.json").unlink()
  with pytest.warns(store.ChunkWarning, match="another sweep"):
    other = stored(folder, rates=RATES * 0.5)
  assert other.chunks_computed == 3
  fresh = run_sweep(run, columns(RATES * 0.5), SEEDS, chunk_size=4, progress=False)
  assert other.table.equals(fresh.table)


def other_run(hparams, key):
  return run({**hparams, "learning_rate": hparams["learning_rate"] * 0.5}, key)


REFUSED = {  # id: (the second call's options, fragments of its one-line refusal)
    "another-run": (dict(run=other_run), ["another computation"]),
    "another-grid": (dict(rates=RATES * 2), ["other hyperparameter values or seeds"]),
    "more-runs": (dict(rates=np.append(RATES, 2.0)), ["another number of runs: 12 there, 14"]),
    "other-seeds": (dict(seeds=[5, 6]), ["other hyperparameter values or seeds"]),
    "another-chunk-size": (dict(chunk_size=2), ["another chunk size", "4 there, 2 now"]),
}


@pytest.mark.parametrize("fault", list(REFUSED))
def test_a_folder_holding_another_sweep_is_refused_in_one_line(fault, tmp_path):
  """Issue 17, item 1: another computation into the same folder never reuses its numbers."""
  options, fragments = REFUSED[fault]
  folder = tmp_path / "sweep"
  stored(folder)
  before = sorted((p.name, p.read_bytes()) for p in (folder / "chunks").iterdir())
  arguments = dict(run=run, rates=RATES, seeds=SEEDS, chunk_size=4) | options
  with pytest.raises(ValueError) as error:
    run_sweep(arguments["run"], columns(arguments["rates"]), arguments["seeds"],
              chunk_size=arguments["chunk_size"], out=folder, progress=False)
  message = str(error.value)
  assert "\n" not in message and "holds a different sweep" in message, message
  assert all(fragment in message for fragment in fragments), message
  assert sorted((p.name, p.read_bytes()) for p in (folder / "chunks").iterdir()) == before


def test_a_folder_from_before_common_random_numbers_is_refused_by_its_layout(tmp_path):
  """A folder whose runs were batched one lane per row (no `layout` in its identity) holds
  numbers that differ in their last bits: refused, saying so, not as another computation."""
  stored(tmp_path)
  manifest = json.loads((tmp_path / "sweep.json").read_text())
  del manifest["identity"]["layout"]
  manifest["fingerprint"] = store.fingerprint(manifest["identity"])
  (tmp_path / "sweep.json").write_text(json.dumps(manifest))
  with pytest.raises(ValueError, match="another batching of the runs .*: None there, "
                                       "configurations inside seeds now"):
    stored(tmp_path)


def test_a_folder_from_an_older_version_is_refused(tmp_path):
  (tmp_path / "chunks").mkdir()
  (tmp_path / "sweep.json").write_text(json.dumps({"fingerprint": "0123", "description": "old",
                                                   "rows": 12, "chunk_size": 4}))
  with pytest.raises(ValueError, match="older jaxopt_lab whose chunks carry no identity"):
    stored(tmp_path)


def test_resume_without_a_chunk_size_takes_the_folders(tmp_path, clean):
  stored(tmp_path)
  resumed = run_sweep(run, columns(RATES), SEEDS, out=tmp_path, progress=False)
  assert resumed.chunk_size == 4 and resumed.chunks_computed == 0
  assert resumed.table.equals(clean.table)


def test_a_folder_in_use_is_refused_not_shared(tmp_path):
  with store.locked(tmp_path, "test"):
    with pytest.raises(ValueError, match=r"run_sweep\(out=.*\): .* is in use by another sweep"):
      stored(tmp_path)
  assert stored(tmp_path).chunks_computed == 3  # released: the folder is usable again


def test_ctrl_c_says_how_many_runs_are_saved_and_the_same_call_resumes(tmp_path, clean,
                                                                      monkeypatch):
  real_save, saves = store.save_chunk, []

  def interrupted_after_one(*args, **kwargs):
    if saves:
      raise KeyboardInterrupt
    saves.append(real_save(*args, **kwargs))

  monkeypatch.setattr(store, "save_chunk", interrupted_after_one)
  with pytest.raises(SweepInterrupted, match=r"^sweep interrupted: 4 of 12 runs are saved in "
                                             r".*; the same call resumes from them$"):
    stored(tmp_path)
  monkeypatch.setattr(store, "save_chunk", real_save)
  assert store.saved_runs(tmp_path) == 4
  resumed = stored(tmp_path)
  assert resumed.chunks_computed == 2 and resumed.table.equals(clean.table)
  assert not [p for p in (tmp_path / "chunks").iterdir() if ".partial" in p.name]


def test_results_do_not_depend_on_the_chunk_size_here(clean):
  """The quadratic run gives bit-identical tables for chunks of 2, 4 and 12 rows (1, 2 and 6
  configurations x 2 seeds; a digits MLP need not: see the engine's docstring, which is why
  the chunk size is part of a folder's identity)."""
  for chunk in (2, 12):
    other = run_sweep(run, columns(RATES), SEEDS, chunk_size=chunk, progress=False)
    assert other.table.equals(clean.table)
    np.testing.assert_array_equal(other.curves["train_loss"], clean.curves["train_loss"])


def test_concurrent_writers_of_one_file_never_share_a_temporary_name(tmp_path):
  """A second writer of the same target, starting while the first one writes (the shared
  `X.partial` name made 4 of 10 identical sweeps crash): both finish, one whole file wins."""
  target = tmp_path / "table.csv"
  names = []

  def inner(partial):
    names.append(partial.name)
    partial.write_text("second writer\n")

  def outer(partial):
    names.append(partial.name)
    partial.write_text("first writer, ")
    write_atomically(target, inner)
    with open(partial, "a") as file:
      file.write("whole\n")

  write_atomically(target, outer)
  assert len(set(names)) == 2 and target.read_text() == "first writer, whole\n"
  assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_writes_are_fsynced_before_the_rename(tmp_path, monkeypatch):
  import os
  events = []
  real_fsync, real_replace = os.fsync, os.replace
  monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
  monkeypatch.setattr(os, "replace", lambda a, b: events.append("replace") or real_replace(a, b))
  write_atomically(tmp_path / "x.txt", lambda partial: partial.write_text("x"))
  assert events == ["fsync", "replace", "fsync"]  # the file, the rename, then the folder


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
  def failing(partial):
    partial.write_text("half")
    raise zipfile.BadZipFile("disk trouble")

  with pytest.raises(zipfile.BadZipFile):
    write_atomically(tmp_path / "x.npz", failing)
  assert not list(tmp_path.iterdir())
