"""Raw marketplace labels of a design, as a seller would type them.

The words come from ``marketplace_words.yaml``; sellers use synonyms, add words that
map to nothing ("Multicolore"), write "100% coton", or leave a field empty (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataset.synthetic import distributions as dist
from dataset.synthetic.design import Design
from dataset.synthetic.words import MarketplaceWords

MISSING_COLOURS = 0.07
MISSING_MATERIALS = 0.18
MISSING_GENDER = 0.05
MISSING_BRAND = 0.12
MISSING_SIZE = 0.05
MISSING_CONDITION = 0.03


@dataclass(frozen=True)
class RawLabels:
    title: str
    brand: str | None
    colors: list[str] | None
    materials: list[str] | None
    gender: str | None
    size: str | None
    condition: str | None
    price_amount: str


def pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def weighted_index(rng: np.random.Generator, shares: list[float]) -> int:
    p = np.asarray(shares, dtype=float)
    return int(rng.choice(len(p), p=p / p.sum()))


def colour_words(design: Design, words: MarketplaceWords, rng: np.random.Generator) -> list[str]:
    out = []
    for colour, shade in zip(design.colours, design.shades, strict=True):
        # Mostly the word that matches the photo's shade; sometimes a synonym.
        out.append(shade if rng.random() < 0.85 else pick(rng, words.colour[colour]))
    ignored = words.colour.get("ignored", [])
    if ignored and rng.random() < (0.3 if len(out) > 1 else 0.04):
        out.append(pick(rng, ignored))
    return out


def material_words(design: Design, words: MarketplaceWords, rng: np.random.Generator) -> list[str]:
    out = []
    for material in design.materials:
        options = words.material[material]
        if material == "cotton" and design.type != "jeans":
            # "Denim" belongs to jeans; "100% coton" only when cotton is all there is.
            options = [w for w in options if w != "Denim"]
            if len(design.materials) > 1:
                options = [w for w in options if not w.startswith("100%")] or options
        out.append(pick(rng, options))
    return out


def _size(design: Design, rng: np.random.Generator) -> str:
    gender = design.genders[0]
    if gender == "baby":
        return pick(rng, dist.BABY_SIZES)
    if gender in ("girl", "boy", "child"):
        return pick(rng, dist.CHILD_SIZES)
    if design.type == "jeans":
        return pick(rng, dist.JEANS_SIZES)
    return pick(rng, dist.MEN_SIZES if gender == "men" else dist.ADULT_SIZES)


def _price(design: Design, factor: float, rng: np.random.Generator) -> str:
    euros = dist.BASE_PRICE[design.type] * factor * float(rng.lognormal(0.0, 0.45))
    if design.genders[0] in ("baby", "child", "girl", "boy"):
        euros *= 0.6
    cents = [0, 0, 50, 90][int(rng.integers(4))]
    return f"{max(1, int(euros))}.{cents:02d}"


def draw_labels(design: Design, words: MarketplaceWords, rng: np.random.Generator) -> RawLabels:
    colors = colour_words(design, words, rng)
    materials = material_words(design, words, rng)
    gender_key = design.genders[0]
    if len(design.genders) > 1 and rng.random() < 0.25:
        gender_key = design.genders[1]  # a girl's dress listed under "Enfants"
    gender = pick(rng, words.gender[gender_key])
    brand = pick(rng, dist.BRANDS)
    condition_index = weighted_index(rng, [share for _, share, _ in dist.CONDITIONS])
    condition, _, price_factor = dist.CONDITIONS[condition_index]
    title = pick(rng, dist.TITLE_NOUNS[design.type])
    if rng.random() < 0.7:
        title += " " + colors[0].lower()
    if rng.random() < 0.4:
        title += " " + brand
    return RawLabels(
        title=title,
        brand=None if rng.random() < MISSING_BRAND else brand,
        colors=None if rng.random() < MISSING_COLOURS else colors,
        materials=None if rng.random() < MISSING_MATERIALS else materials,
        gender=None if rng.random() < MISSING_GENDER else gender,
        size=None if rng.random() < MISSING_SIZE else _size(design, rng),
        condition=None if rng.random() < MISSING_CONDITION else condition,
        price_amount=_price(design, price_factor, rng),
    )
