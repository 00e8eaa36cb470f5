"""Adam with a decaying learning rate and gradient clipping (SEED-NOTES: 1e-4 -> ~1e-7).

The schedule is a function of the *global* step, so the two phases of fine-tuning
(frozen backbone, then unfrozen, each with a fresh optimizer) follow one curve: the
second optimizer starts at ``offset`` steps. Kinds: ``cosine`` (default; stays high
longer, which suits short runs), ``exponential`` (geometric from initial to final) and
``constant``. An optional linear warmup rises from near zero to the initial rate over
its first ``warmup_steps``; the decay then runs over the remaining steps. A weight decay
above zero makes the optimizer AdamW (decoupled decay, biases and normalisation scales
left alone).

>>> s = DecaySchedule(1e-4, 1e-7, total_steps=100, kind="exponential")
>>> f"{float(s(0)):.1e} {float(s(100)):.1e}"
'1.0e-04 1.0e-07'
>>> w = DecaySchedule(1e-4, 1e-7, total_steps=100, kind="exponential", warmup_steps=10)
>>> f"{float(w(0)):.1e} {float(w(9)):.1e} {float(w(100)):.1e}"
'1.0e-05 1.0e-04 1.0e-07'
"""

from __future__ import annotations

import math
from typing import Any

import keras

from training.config import TrainConfig


@keras.saving.register_keras_serializable(package="street2shop")
class DecaySchedule(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(
        self,
        initial: float,
        final: float,
        total_steps: int,
        kind: str = "cosine",
        offset: int = 0,
        warmup_steps: int = 0,
    ) -> None:
        self.initial = float(initial)
        self.final = float(final)
        self.total_steps = max(int(total_steps), 1)
        self.kind = kind
        self.offset = int(offset)
        self.warmup_steps = min(int(warmup_steps), self.total_steps - 1)

    def __call__(self, step: Any) -> Any:
        ops = keras.ops
        global_step = ops.cast(step, "float32") + self.offset
        warmup = self.warmup_steps
        t = ops.clip((global_step - warmup) / (self.total_steps - warmup), 0.0, 1.0)
        if self.kind == "constant":
            rate = ops.cast(self.initial, "float32") + 0.0 * t
        elif self.kind == "exponential":
            rate = self.initial * ops.power(self.final / self.initial, t)
        else:
            rate = self.final + (self.initial - self.final) * 0.5 * (1.0 + ops.cos(math.pi * t))
        if not warmup:
            return rate
        return rate * ops.minimum((global_step + 1.0) / warmup, 1.0)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial": self.initial,
            "final": self.final,
            "total_steps": self.total_steps,
            "kind": self.kind,
            "offset": self.offset,
            "warmup_steps": self.warmup_steps,
        }


def build_optimizer(config: TrainConfig, steps_per_epoch: int, start_epoch: int) -> Any:
    schedule = DecaySchedule(
        config.learning_rate,
        config.final_lr,
        total_steps=config.epochs * steps_per_epoch,
        kind=config.schedule,
        offset=start_epoch * steps_per_epoch,
        warmup_steps=round(config.warmup_epochs * steps_per_epoch),
    )
    if not config.weight_decay:
        return keras.optimizers.Adam(learning_rate=schedule, clipnorm=config.clipnorm)
    optimizer = keras.optimizers.AdamW(
        learning_rate=schedule, weight_decay=config.weight_decay, clipnorm=config.clipnorm
    )
    # Decay shrinks weights towards zero: right for kernels, not for the biases and the
    # normalisation layers' scales and offsets, which set levels rather than capacity.
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer
