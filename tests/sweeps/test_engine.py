"""The sweep engine on a small momentum-on-a-quadratic run: one trace, equal to a loop,
divergence isolated, resumable, memory- and cache-sized chunks, sharded equal to unsharded."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import run_on_8_devices
from quadratic_sweep import TRACES, columns, run
from jaxopt_lab.sweeps.engine import compiled_program, rows_of, run_sweep
from jaxopt_lab.sweeps import memory
from jaxopt_lab.sweeps.memory import balanced, carried_bytes, chunk_for_budget, last_level_cache

def test_compiles_once_for_any_values_and_any_number_of_chunks():
  """One program per chunk shape (configurations per chunk x number of seeds)."""
  TRACES.clear()
  first = run_sweep(run, columns(np.logspace(-2, 0, 20)), seeds=[0, 1], chunk_size=8,
                    progress=False)
  second = run_sweep(run, columns(np.logspace(-3, -1, 30), beta=0.5), seeds=[5, 9],
                     chunk_size=8, progress=False)
  assert len(TRACES) == 1
  assert len(first.table) == 40 and len(second.table) == 60
  assert first.chunks_computed == 5 and second.chunks_computed == 8


def test_rows_equal_single_runs():
  result = run_sweep(run, columns([0.05, 0.5, 1.5]), seeds=[0, 7], chunk_size=4,
                     progress=False)
  for row in result.table.itertuples():
    alone = jax.jit(run)({"learning_rate": jnp.float32(row.learning_rate),
                          "beta": jnp.float32(row.beta)}, jax.random.key(row.seed))
    np.testing.assert_allclose(result.curves["train_loss"][row.Index], alone["train_loss"],
                               rtol=1e-6, atol=1e-30)
  assert list(result.table.seed) == [0, 7, 0, 7, 0, 7]
  assert list(result.table.config) == [0, 0, 1, 1, 2, 2]


def test_diverged_runs_are_flagged_and_leave_the_others_bit_identical():
  rates = np.array([0.1, 0.3, 50.0, 0.7, 1.1])  # 50 diverges (alpha * lambda > 2 (1 + beta))
  result = run_sweep(run, columns(rates), seeds=[0, 1], chunk_size=4, progress=False)
  clean = run_sweep(run, columns(np.delete(rates, 2)), seeds=[0, 1], chunk_size=4,
                    progress=False)
  table = result.table
  assert list(table.diverged) == [rate == 50.0 for rate in rates for _ in range(2)]
  kept = ~table.diverged.to_numpy()
  np.testing.assert_array_equal(result.curves["train_loss"][kept], clean.curves["train_loss"])
  np.testing.assert_array_equal(result.scalars["final_norm"][kept], clean.scalars["final_norm"])


def test_resume_computes_only_missing_chunks_and_equals_an_uninterrupted_sweep(tmp_path):
  cols = columns(np.logspace(-2, 0, 12))
  whole = run_sweep(run, cols, seeds=[0, 1], chunk_size=8, progress=False)
  first = run_sweep(run, cols, seeds=[0, 1], chunk_size=8, out=tmp_path, progress=False)
  assert first.chunks_computed == 3
  (tmp_path / "chunks" / "chunk-00001.npz").unlink()  # as if killed before chunk 1 was saved
  resumed = run_sweep(run, cols, seeds=[0, 1], chunk_size=8, out=tmp_path, progress=False)
  assert resumed.chunks_computed == 1
  np.testing.assert_array_equal(resumed.curves["train_loss"], whole.curves["train_loss"])
  assert resumed.table.equals(whole.table)
  assert not list(tmp_path.glob("**/*.partial*"))


def test_a_different_sweep_in_the_same_folder_is_refused(tmp_path):
  run_sweep(run, columns([0.1, 0.2]), chunk_size=2, out=tmp_path, progress=False)
  with pytest.raises(ValueError, match="holds a different sweep"):
    run_sweep(run, columns([0.1, 0.3]), chunk_size=2, out=tmp_path, progress=False)


def test_chunks_follow_the_memory_budget():
  flat, seeds, _ = rows_of(columns(np.logspace(-2, 0, 300)), [0, 1])
  program_bytes = lambda rows: compiled_program(run, flat, seeds, rows, None, jnp.float32).bytes
  TRACES.clear()
  big = chunk_for_budget(program_bytes, len(seeds), 2, 1 << 30)
  small = chunk_for_budget(program_bytes, len(seeds), 2, 64 << 10)
  assert big == 600 and 2 <= small < 600 and small % 2 == 0  # whole configurations
  assert program_bytes(small) <= 64 << 10
  assert len(TRACES) == 2   # the probe and the chunk that fits, each compiled once


def test_carried_bytes_is_the_largest_loop_state_nested_loops_included():
  def looped(x):
    def body(carry, _):   # carries [3] and [2, 5] float32: 52 bytes
      inner = jax.lax.fori_loop(0, 2, lambda i, y: y * 2, jnp.ones(100, jnp.int8))
      return (carry[0] + inner[:3], carry[1]), None
    return jax.lax.scan(body, (x, jnp.zeros((2, 5))), length=4)[0]

  assert carried_bytes(jax.make_jaxpr(looped)(jnp.ones(3)).jaxpr) == 4 + 100  # fori's (i, y)
  assert carried_bytes(jax.make_jaxpr(jnp.sin)(jnp.ones(3)).jaxpr) == 0
  state = jax.make_jaxpr(run)({"learning_rate": jnp.float32(0.1), "beta": jnp.float32(0.9)},
                              jax.random.key(0)).jaxpr
  assert carried_bytes(state) == 2 * 10 * 4 + 4  # w and momentum's trace [10], its count


def test_default_chunks_keep_each_devices_loop_state_in_a_share_of_the_cache(monkeypatch):
  per_run = 2 * 10 * 4 + 4
  monkeypatch.setattr(memory, "last_level_cache", lambda: memory.CACHE_SHARE * per_run * 12)
  cols = columns(np.logspace(-2, 0, 13))   # 26 rows, 12 per chunk at most: 3 chunks
  chunked = run_sweep(run, cols, seeds=[0, 1], mesh=None, progress=False)
  assert chunked.chunk_size == 10 and chunked.chunks_computed == 3   # 30 rows, not 36
  whole = run_sweep(run, cols, seeds=[0, 1], chunk_size=26, mesh=None, progress=False)
  np.testing.assert_allclose(chunked.curves["train_loss"], whole.curves["train_loss"],
                             rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("rows, largest, unit, chunk", [
    (1024, 66, 2, 64), (5000, 4096, 1, 2500), (10, 4096, 1, 10), (1, 4, 2, 2), (26, 6, 2, 6),
    (12, 6, 3, 6)])
def test_balanced_chunks_cover_the_rows_in_as_few_chunks_with_the_least_padding(
    rows, largest, unit, chunk):
  assert balanced(rows, largest, unit) == chunk
  assert -(-rows // chunk) == -(-rows // largest) and chunk % unit == 0


def test_last_level_cache_reads_the_largest_cache_in_sys(tmp_path):
  for index, size in enumerate(["32K", "512K", "32768K", "1M"]):
    (tmp_path / f"index{index}").mkdir()
    (tmp_path / f"index{index}" / "size").write_text(size + "\n")
  assert last_level_cache(tmp_path) == 32 << 20
  assert last_level_cache(tmp_path / "missing") is None


@pytest.mark.parametrize("bad, message", [
    (dict(chunk_size=0), "chunk_size must be a positive multiple"),
    (dict(seeds=[]), "seeds must be a non-empty"),
])
def test_bad_arguments(bad, message):
  arguments = dict(seeds=[0], chunk_size=2, progress=False) | bad
  with pytest.raises(ValueError, match=message):
    run_sweep(run, columns([0.1, 0.2]), **arguments)


def test_sharded_over_8_devices_equals_one_device(tmp_path):
  """In a subprocess with 8 forced CPU devices: the configuration axis sharded over a Mesh."""
  sharded = run_on_8_devices("sweep_on_8_devices.py", tmp_path / "sharded.npz")
  assert int(sharded["devices"]) == 8
  single = run_sweep(run, columns(np.logspace(-2, 0, 12)), seeds=[0, 1], chunk_size=8,
                     mesh=None, progress=False)
  np.testing.assert_allclose(sharded["train_loss"], single.curves["train_loss"], rtol=1e-6,
                             atol=1e-30)
