"""Training as the lectures teach it: data, models, losses and penalties, regularizers, the scan
training loop, synchronous data parallelism and checkpoints.

  data = jaxopt_lab.train.digits(seed=0)                 # data.py: sklearn's digits, split
  model = lambda rngs: jaxopt_lab.train.MLP(64, (64,), 10, "relu", rngs=rngs)   # models.py
  result = jaxopt_lab.train.train(model, jaxopt_lab.adam(1e-3), data, key, steps=500,
                                  batch_size=64)         # loop.py: one pure, scanned run
  jaxopt_lab.train.losses.l2(params, 1e-4)              # losses.py: losses and penalties
  jaxopt_lab.train.train(..., regularization=jaxopt_lab.train.Regularization(dropout=0.3,
                         max_degrees=15), early_stopping=jaxopt_lab.train.EarlyStopping(5))

The regularizers are plain functions of (arrays, key, strength), usable in any training step:
`dropout.dropout`, `augment.translate / rotate / cutout / flip_horizontal`,
`soft_targets.mixup / smooth_labels`, and early stopping's state updates
(early_stopping.py); regularizers.py bundles them for `train`.
"""
from jaxopt_lab.train import augment, dropout, losses, soft_targets
from jaxopt_lab.train.checkpoint import (
    checkpoint_paths, latest_checkpoint, restore_tree, save_checkpoint, save_tree)
from jaxopt_lab.train.data import Dataset, blobs, digits, spirals, training_subset
from jaxopt_lab.train.data_parallel import data_mesh
from jaxopt_lab.train.early_stopping import EarlyStopping
from jaxopt_lab.train.loop import (
    Metrics, TrainResult, evaluate, evaluation_steps, run_curves, train, trained_model)
from jaxopt_lab.train.models import MLP, LinearClassifier
from jaxopt_lab.train.regularizers import Regularization

__all__ = [
    "Dataset", "digits", "blobs", "spirals", "training_subset", "MLP", "LinearClassifier",
    "losses", "train", "evaluate", "evaluation_steps", "trained_model", "run_curves",
    "TrainResult", "Metrics", "data_mesh", "save_checkpoint", "latest_checkpoint",
    "checkpoint_paths", "save_tree", "restore_tree", "Regularization", "EarlyStopping",
    "augment", "dropout", "soft_targets"]
