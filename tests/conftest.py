import jax
import pytest

# One CPU device in the test process, whatever runs first: `jaxopt-lab sweep` called in-process
# keeps a device count the user chose (jaxopt_lab.sweeps.host.use_every_core), so no test
# changes the devices of the tests after it. Scripts with 8 forced devices run in subprocesses.
jax.config.update("jax_num_cpu_devices", 1)


@pytest.fixture
def x64():
  """Run the test in float64 (jax's default is float32)."""
  with jax.enable_x64(True):
    yield
