"""A garment design of the demo universe: what a listing and its catalogue product share."""

from __future__ import annotations

from dataclasses import dataclass

from dataset.synthetic.garments import Look


@dataclass(frozen=True)
class Design:
    """A garment design. House ids throughout (see DESIGN.md's taxonomy)."""

    design_id: str
    type: str
    colours: tuple[str, ...]
    materials: tuple[str, ...]
    genders: tuple[str, ...]
    shades: tuple[str, ...]  # marketplace colour word of each colour (the rendered shade)
    pattern: str
    variant: int
    in_catalogue: bool

    def look(self) -> Look:
        return Look(
            type=self.type,
            colours=self.colours,
            shades=self.shades,
            materials=self.materials,
            gender=self.genders[0],
            pattern=self.pattern,
            variant=self.variant,
        )
