"""Adam with a decaying learning rate and gradient clipping (SEED-NOTES: 1e-4 -> ~1e-7).

The schedule is a function of the *global* step, so the two phases of fine-tuning
(frozen backbone, then unfrozen, each with a fresh optimizer) follow one curve: the
second optimizer starts at ``offset`` steps. Kinds: ``cosine`` (default; stays high
longer, which suits short runs), ``exponential`` (geometric from initial to final) and
``constant``.

>>> s = DecaySchedule(1e-4, 1e-7, total_steps=100, kind="exponential")
>>> f"{float(s(0)):.1e} {float(s(100)):.1e}"
'1.0e-04 1.0e-07'
"""

from __future__ import annotations

import math
from typing import Any

import keras

from training.config import TrainConfig


@keras.saving.register_keras_serializable(package="street2shop")
class DecaySchedule(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(
        self, initial: float, final: float, total_steps: int, kind: str = "cosine", offset: int = 0
    ) -> None:
        self.initial = float(initial)
        self.final = float(final)
        self.total_steps = max(int(total_steps), 1)
        self.kind = kind
        self.offset = int(offset)

    def __call__(self, step: Any) -> Any:
        ops = keras.ops
        t = ops.clip((ops.cast(step, "float32") + self.offset) / self.total_steps, 0.0, 1.0)
        if self.kind == "constant":
            return ops.cast(self.initial, "float32") + 0.0 * t
        if self.kind == "exponential":
            return self.initial * ops.power(self.final / self.initial, t)
        return self.final + (self.initial - self.final) * 0.5 * (1.0 + ops.cos(math.pi * t))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial": self.initial,
            "final": self.final,
            "total_steps": self.total_steps,
            "kind": self.kind,
            "offset": self.offset,
        }


def build_optimizer(config: TrainConfig, steps_per_epoch: int, start_epoch: int) -> Any:
    schedule = DecaySchedule(
        config.learning_rate,
        config.final_lr,
        total_steps=config.epochs * steps_per_epoch,
        kind=config.schedule,
        offset=start_epoch * steps_per_epoch,
    )
    return keras.optimizers.Adam(learning_rate=schedule, clipnorm=config.clipnorm)
