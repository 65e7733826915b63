import jax
import pytest


@pytest.fixture
def x64():
  """Run the test in float64 (jax's default is float32)."""
  with jax.enable_x64(True):
    yield
