"""Synchronous data parallelism equals one device with the global batch: the same digits run
on 8 forced host devices (in a subprocess) and on one; the batch split must be even."""
import jax
import numpy as np

from helpers import run_on_8_devices
from jaxopt_lab.train.data_parallel import data_mesh
from digits_runs import single_run


def test_data_mesh_is_one_axis_over_the_given_devices():
  mesh = data_mesh(jax.devices()[:1])
  assert mesh.axis_names == ("data",) and mesh.devices.size == 1


def test_8_devices_equal_one_device_with_the_global_batch(tmp_path):
  """Batches of 64 over 8 devices, 100 steps: the 17th batch of each epoch holds 53 examples,
  so device 7's slice (positions 56..63) is all padding and must contribute nothing."""
  sharded = run_on_8_devices("train_on_8_devices.py", tmp_path / "sharded.npz")
  assert int(sharded["devices"]) == 8
  assert "batch_size must be a multiple of the 8 devices" in str(sharded["refused"])
  single = single_run()
  np.testing.assert_allclose(sharded["train_loss"], single.train_loss, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(sharded["val_accuracy"], single.val_accuracy, atol=1e-6)
  leaves = jax.tree.leaves(single.params)
  for i, leaf in enumerate(leaves):
    np.testing.assert_allclose(sharded[f"param_{i}"], leaf, rtol=1e-5, atol=1e-6)
  assert len(leaves) == 4
