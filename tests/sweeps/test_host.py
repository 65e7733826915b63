"""The process-wide settings `jaxopt-lab sweep` applies (jaxopt_lab.sweeps.host): they keep what
the user chose, change nothing once JAX has started, and a cache folder that cannot be made is
one warning, not an error. (Their effect, every core and a warm cache, is measured by
benchmarks/sweep.py; tests/studies/test_sweep_cli.py runs the CLI with them.)"""
import jax
import pytest

from jaxopt_lab.sweeps import host


@pytest.fixture
def cache_setting():
  saved = (jax.config.jax_compilation_cache_dir,
           jax.config.jax_persistent_cache_min_compile_time_secs)
  yield
  jax.config.update("jax_compilation_cache_dir", saved[0])
  jax.config.update("jax_persistent_cache_min_compile_time_secs", saved[1])


def test_every_core_keeps_the_devices_of_a_started_jax():
  jax.devices()  # JAX has started (tests/conftest.py chose one CPU device)
  host.use_every_core(4)
  assert len(jax.devices("cpu")) == 1 and jax.config.jax_num_cpu_devices == 1


def test_the_compilation_cache_goes_where_asked_with_no_minimum_compile_time(tmp_path,
                                                                               cache_setting):
  jax.config.update("jax_compilation_cache_dir", None)  # an in-process CLI test may have set it
  assert host.use_compilation_cache(tmp_path / "xla") == tmp_path / "xla"
  assert (tmp_path / "xla").is_dir()
  assert jax.config.jax_compilation_cache_dir == str(tmp_path / "xla")
  assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0
  assert host.use_compilation_cache(tmp_path / "other") == tmp_path / "xla"  # set: kept
  assert not (tmp_path / "other").exists()


def test_a_cache_folder_that_cannot_be_made_is_one_warning(tmp_path, cache_setting):
  jax.config.update("jax_compilation_cache_dir", None)
  (tmp_path / "file").write_text("not a folder")
  with pytest.warns(RuntimeWarning, match=r"^no compilation cache: .*file/xla cannot be "
                                          r"created \(Not a directory\); every sweep program "
                                          r"is compiled anew$"):
    assert host.use_compilation_cache(tmp_path / "file" / "xla") is None
  assert jax.config.jax_compilation_cache_dir is None
