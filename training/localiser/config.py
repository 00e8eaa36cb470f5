"""The validated settings of ``s2s-train fit-localiser`` (flags, saved beside the model)."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field


class LocaliserConfig(BaseModel):
    """What the localiser is trained on and how; every field is a flag of the command."""

    model_config = ConfigDict(extra="forbid")

    # Network input side. 64 px with 4000 composites trains on a third less CPU than
    # 96 px with 3000 (64 vs 94 CPU seconds) for a better demo shoppers' IoU (0.834 vs
    # 0.824): GrabCut draws the outline, the network only has to find the garment.
    image_size: int = Field(64, ge=32, le=512, multiple_of=16)
    width: int = Field(16, ge=4, le=128)  # filters of the first layer
    max_cutouts: int = Field(160, ge=1)  # studio shots cut on their backdrop
    max_scenes: int = Field(200, ge=0)  # marketplace photos whose borders become scenes
    composites: int = Field(4000, ge=8)  # training photos generated per run
    val_composites: int = Field(200, ge=4)
    epochs: int = Field(8, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    seed: int = 0

    def fingerprint(self, inputs: list[str]) -> str:
        """Hash of the settings and the input keys: an unchanged run reuses its model."""
        text = json.dumps({"config": self.model_dump(), "inputs": inputs}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
