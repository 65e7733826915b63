"""Run by test_data_parallel in a process with 8 forced host devices: row 1 of digits_runs'
digits runs with each batch of 64 split 8 ways; saves its curves and parameters."""
import sys

import jax
import numpy as np

from jaxopt_lab.train.data_parallel import data_mesh
from jaxopt_lab.optim.aliases import adam
from jaxopt_lab.train.loop import train
from digits_runs import digits_set, make_digits_model, single_run

mesh = data_mesh()
result = single_run(mesh)
try:
  train(make_digits_model, adam(), digits_set(), jax.random.key(0), steps=1, batch_size=60,
        mesh=mesh)
  refused = ""
except ValueError as error:
  refused = str(error)
np.savez(sys.argv[1], devices=mesh.devices.size, train_loss=result.train_loss,
         val_accuracy=result.val_accuracy, refused=refused,
         **{f"param_{i}": leaf for i, leaf in enumerate(jax.tree.leaves(result.params))})
