"""Training as the lectures teach it: data, models, losses and penalties, the scan training
loop, synchronous data parallelism and checkpoints.

  data = jaxopt_lab.train.digits(seed=0)                 # data.py: sklearn's digits, split
  model = lambda rngs: jaxopt_lab.train.MLP(64, (64,), 10, "relu", rngs=rngs)   # models.py
  result = jaxopt_lab.train.train(model, jaxopt_lab.adam(1e-3), data, key, steps=500,
                                  batch_size=64)         # loop.py: one pure, scanned run
  jaxopt_lab.train.losses.l2(params, 1e-4)              # losses.py: losses and penalties
"""
from jaxopt_lab.train import losses
from jaxopt_lab.train.checkpoint import (
    checkpoint_paths, latest_checkpoint, restore_tree, save_checkpoint, save_tree)
from jaxopt_lab.train.data import Dataset, blobs, digits, spirals
from jaxopt_lab.train.data_parallel import data_mesh
from jaxopt_lab.train.loop import (
    Metrics, TrainResult, evaluate, evaluation_steps, train, trained_model)
from jaxopt_lab.train.models import MLP, LinearClassifier

__all__ = [
    "Dataset", "digits", "blobs", "spirals", "MLP", "LinearClassifier", "losses", "train",
    "evaluate", "evaluation_steps", "trained_model", "TrainResult", "Metrics", "data_mesh",
    "save_checkpoint", "latest_checkpoint", "checkpoint_paths", "save_tree", "restore_tree"]
