"""Training callbacks: NaN guard, best checkpoint, throughput, optional TensorBoard."""

from training.callbacks.best import BestCheckpoint
from training.callbacks.guards import NanGuard, Throughput, tensorboard_callback

__all__ = ["BestCheckpoint", "NanGuard", "Throughput", "tensorboard_callback"]
