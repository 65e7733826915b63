"""Synchronous data parallelism: every device takes a slice of the batch; gradients are summed.

  mesh = data_mesh()            # all devices on one mesh axis, "data"
  result = train(make_model, adam(1e-3), digits(), key, steps=500, batch_size=64, mesh=mesh)

As the lectures put it for multi-GPU training: the parameters are replicated, device d computes
the gradient of its slice B_d of the global batch B, an all-reduce sums them, and every replica
applies the same update, so the run equals one device with the whole batch (up to the order of
floating-point sums). `train(..., mesh=mesh)` uses `sharded_value_and_grad` for each step.
"""
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh, PartitionSpec

AXIS = "data"


def data_mesh(devices=None) -> Mesh:
  """A 1-D mesh over `devices` (default: all of them) with the axis "data"."""
  devices = jax.devices() if devices is None else list(devices)
  return Mesh(np.asarray(devices), (AXIS,))


def sharded_value_and_grad(graphdef, loss, mesh: Mesh, batch_size: int):
  """(params, x, y, weights) -> (weighted mean loss, gradient), the batch split over `mesh`:

    L = sum_d S_d / sum_d W_d,  grad L = sum_d grad S_d / sum_d W_d,
    S_d = sum_{i in B_d} w_i loss_i,  W_d = sum_{i in B_d} w_i,

  with both sums over devices d an all-reduce (`lax.psum`). The batch size must be a multiple
  of the device count; a slice holding only padding (weight 0) contributes 0.
  """
  devices = mesh.shape[AXIS]
  if batch_size % devices:
    raise ValueError(f"train(batch_size={batch_size}): batch_size must be a multiple of the "
                     f"{devices} devices of the mesh")

  def local(params, x, y, weights):
    def weighted_sum(params):
      return loss(nnx.merge(graphdef, params)(x), y, weights) * jnp.sum(weights)

    # each device differentiates its own replica, so the all-reduce below is the only sum
    params = jax.lax.pcast(params, AXIS, to="varying")
    value, grads = jax.value_and_grad(weighted_sum)(params)
    total = jax.lax.psum(jnp.sum(weights), AXIS)
    mean = lambda partial: jax.lax.psum(partial, AXIS) / total
    return mean(value), jax.tree.map(mean, grads)

  replicated, split = PartitionSpec(), PartitionSpec(AXIS)
  return jax.shard_map(local, mesh=mesh, in_specs=(replicated, split, split, split),
                       out_specs=(replicated, replicated))
