"""The demo world: marketplace listings and the retailer's catalogue, from one seed.

Every entity (a category's listings, a design, a photo) draws from its own random
generator, seeded from ``(seed, kind, id)``, so any item can be generated on its own and
nothing depends on the order of calls. Some listings show a catalogue design through a
shopper's photo (their ``design.design_id`` is the ``pair_id`` shared with the catalogue);
some are relists of an older listing with the same photo under a new id.

>>> world = DemoUniverse(seed=0, items_per_category=10)
>>> listing = world.listings("robes")[0]
>>> listing.category, listing.design.type
('robes', 'dresses')
>>> world.render_listing_photo(listing.photo_ids[0], size=64)[:2]
b'\\xff\\xd8'
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from PIL import Image

from dataset.synthetic import distributions as dist
from dataset.synthetic.design import Design
from dataset.synthetic.garments import (
    PATTERNS,
    render,
    retouch,
    shopper_shot,
    studio_shot,
    to_jpeg,
)
from dataset.synthetic.labels import draw_labels, weighted_index
from dataset.synthetic.words import MarketplaceWords, load_words

ID_BASE = 1_000_000
ID_SPAN = 400_000  # item ids of one category: ID_BASE + index * ID_SPAN + offset
RELIST_SHARE = 0.06
CATALOGUE_SHARE = 0.25  # listings that show a catalogue design (they have a pair_id)
CATALOGUE_PER_ITEM = 1.5  # catalogue designs per listing of an average category
CATALOGUE_VIEWS = 5
PHOTO_COUNT_SHARE = (0.5, 0.3, 0.2)  # 1, 2 or 3 photos
EXACT_RELIST_SHARE = 0.3  # relists whose photo is byte-identical; the rest are retouched


def entity_rng(seed: int, kind: str, key: str) -> np.random.Generator:
    """The generator of one entity; stable across runs, platforms and call orders."""
    digest = hashlib.blake2b(f"{seed}\x1f{kind}\x1f{key}".encode(), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


@dataclass(frozen=True)
class Listing:
    """One marketplace listing with raw labels exactly as the site shows them."""

    item_id: str
    category: str
    design: Design
    photo_ids: tuple[str, ...]
    title: str
    brand: str | None
    colors: list[str] | None
    materials: list[str] | None
    gender: str | None
    size: str | None
    condition: str | None
    price_amount: str
    currency: str
    seller: str
    relist_of: str | None
    deleted: bool
    noai: bool

    @property
    def pair_id(self) -> str | None:
        return self.design.design_id if self.design.in_catalogue else None


def draw_design(
    design_id: str, garment_type: str, rng: np.random.Generator, words: MarketplaceWords
) -> Design:
    gender_share = dist.GENDER_SHARE_BY_TYPE.get(garment_type, dist.GENDER_SHARE)
    gender = list(gender_share)[weighted_index(rng, list(gender_share.values()))]
    colour_share = dist.COLOUR_SHARE_BY_TYPE.get(garment_type, dist.COLOUR_SHARE)
    names = [c for c in colour_share if c in words.colour]
    p = np.asarray([colour_share[c] for c in names])
    two = rng.random() < dist.TWO_COLOUR_SHARE.get(garment_type, dist.TWO_COLOUR_DEFAULT)
    picked = rng.choice(len(names), size=2 if two else 1, replace=False, p=p / p.sum())
    colours = tuple(names[int(i)] for i in picked)
    shades = tuple(words.colour[c][int(rng.integers(len(words.colour[c])))] for c in colours)
    sets = dist.MATERIAL_SETS[garment_type]
    materials = sets[weighted_index(rng, [share for _, share in sets])][0]
    return Design(
        design_id=design_id,
        type=garment_type,
        colours=colours,
        materials=materials,
        genders=dist.GENDER_LABELS[gender],
        shades=shades,
        pattern=PATTERNS[int(rng.integers(len(PATTERNS)))],
        variant=int(rng.integers(1000)),
        in_catalogue=design_id.startswith("P"),
    )


class DemoUniverse:
    """Listings of the demo marketplace and designs of the retailer's catalogue."""

    def __init__(
        self,
        seed: int = 0,
        items_per_category: int = 40,
        *,
        deleted_share: float = 0.03,
        noai_share: float = 0.03,
    ) -> None:
        if items_per_category < 1:
            raise ValueError(f"items_per_category must be >= 1. Received: {items_per_category}")
        self.seed = seed
        self.items_per_category = items_per_category
        self.deleted_share = deleted_share
        self.noai_share = noai_share
        self.words = load_words()
        self._lock = threading.Lock()
        self._listings: dict[str, list[Listing]] = {}
        self._by_id: dict[str, Listing] = {}

    @cached_property
    def categories(self) -> dict[str, str]:
        """Site category slug -> house type."""
        return dict(self.words.category)

    def category_size(self, slug: str) -> int:
        share = dist.TYPE_SHARE.get(self.categories[slug], 1.0)
        return max(3, round(self.items_per_category * share))

    @cached_property
    def _catalogue(self) -> dict[str, list[Design]]:
        out: dict[str, list[Design]] = {}
        for t_index, garment_type in enumerate(sorted(set(self.categories.values()))):
            share = dist.TYPE_SHARE.get(garment_type, 1.0) ** 0.5
            count = max(4, round(self.items_per_category * CATALOGUE_PER_ITEM * share))
            out[garment_type] = [
                draw_design(
                    design_id,
                    garment_type,
                    entity_rng(self.seed, "design", design_id),
                    self.words,
                )
                for design_id in (f"P{t_index:02d}{j:05d}" for j in range(count))
            ]
        return out

    def catalogue_designs(self) -> list[Design]:
        """The retailer's products; a few of them are also listed on the marketplace."""
        return [d for designs in self._catalogue.values() for d in designs]

    @cached_property
    def _designs_by_id(self) -> dict[str, Design]:
        return {d.design_id: d for d in self.catalogue_designs()}

    def design(self, design_id: str) -> Design:
        try:
            return self._designs_by_id[design_id]
        except KeyError:
            raise KeyError(f"no catalogue design {design_id!r}") from None

    def listings(self, slug: str) -> list[Listing]:
        """The listings of a category, newest first (the site's order)."""
        if slug not in self.categories:
            raise KeyError(f"unknown category {slug!r}; known: {sorted(self.categories)}")
        cached = self._listings.get(slug)
        if cached is None:
            cached = self._build_category(slug)
            with self._lock:
                self._listings[slug] = cached
                self._by_id.update((item.item_id, item) for item in cached)
        return cached

    def all_listings(self) -> list[Listing]:
        return [item for slug in self.categories for item in self.listings(slug)]

    def listing(self, item_id: str) -> Listing:
        """The listing with this id (its category is read from the id)."""
        if item_id not in self._by_id:
            index = (int(item_id) - ID_BASE) // ID_SPAN if item_id.isdigit() else -1
            slugs = list(self.categories)
            if 0 <= index < len(slugs):
                self.listings(slugs[index])
        try:
            return self._by_id[item_id]
        except KeyError:
            raise KeyError(f"no listing {item_id!r}") from None

    def _build_category(self, slug: str) -> list[Listing]:
        garment_type = self.categories[slug]
        n = self.category_size(slug)
        if n > ID_SPAN:
            raise ValueError(f"at most {ID_SPAN} items per category. Received: {n}")
        rng = entity_rng(self.seed, "category", slug)
        base = ID_BASE + list(self.categories).index(slug) * ID_SPAN
        offsets = np.sort(rng.choice(ID_SPAN, size=n, replace=False))[::-1]
        ids = [str(base + int(o)) for o in offsets]
        # Relists are newer copies of older listings (the list is newest first).
        n_relists = int(round(n * RELIST_SHARE))
        relist_at = set(int(i) for i in rng.choice(max(n - 1, 1), n_relists, replace=False))
        catalogue = self._catalogue[garment_type]
        pair_order = rng.permutation(len(catalogue))
        listings: dict[int, Listing] = {}
        paired = 0
        originals: list[int] = []  # older listings that are not relists themselves
        for i in reversed(range(n)):  # oldest first, so a relist's original exists
            if i in relist_at and originals:
                original = listings[originals[int(rng.integers(len(originals)))]]
                listings[i] = self._relist(original, ids[i])
                continue
            originals.append(i)
            design = None
            if rng.random() < CATALOGUE_SHARE:
                design = catalogue[int(pair_order[paired % len(catalogue)])]
                paired += 1
            listings[i] = self._listing(ids[i], slug, garment_type, design)
        return [listings[i] for i in range(n)]

    def _listing(
        self, item_id: str, slug: str, garment_type: str, design: Design | None
    ) -> Listing:
        rng = entity_rng(self.seed, "listing", item_id)
        if design is None:
            design = draw_design(f"M{item_id}", garment_type, rng, self.words)
        labels = draw_labels(design, self.words, rng)
        n_photos = 1 + weighted_index(rng, list(PHOTO_COUNT_SHARE))
        return Listing(
            item_id=item_id,
            category=slug,
            design=design,
            photo_ids=tuple(f"{item_id}-{k}" for k in range(n_photos)),
            title=labels.title,
            brand=labels.brand,
            colors=labels.colors,
            materials=labels.materials,
            gender=labels.gender,
            size=labels.size,
            condition=labels.condition,
            price_amount=labels.price_amount,
            currency="EUR",
            seller=f"{dist.SELLERS[int(rng.integers(len(dist.SELLERS)))]}{rng.integers(10, 99)}",
            relist_of=None,
            deleted=bool(rng.random() < self.deleted_share),
            noai=bool(rng.random() < self.noai_share),
        )

    def _relist(self, original: Listing, item_id: str) -> Listing:
        rng = entity_rng(self.seed, "relist", item_id)
        price = float(original.price_amount) * float(rng.uniform(0.7, 1.0))
        return replace(
            original,
            item_id=item_id,
            photo_ids=tuple(f"{item_id}-{k}" for k in range(len(original.photo_ids))),
            price_amount=f"{max(1, int(price))}.00",
            relist_of=original.item_id,
            deleted=bool(rng.random() < self.deleted_share),
        )

    def render_listing_photo(self, photo_id: str, size: int = 256) -> bytes:
        """A shopper-style JPEG of a listing photo ``<item_id>-<k>``."""
        item_id, _, k = photo_id.rpartition("-")
        listing = self.listing(item_id)
        if not k.isdigit() or int(k) >= len(listing.photo_ids):
            raise KeyError(f"no photo {photo_id!r}")
        if listing.relist_of is not None:
            original = self.listing(listing.relist_of).photo_ids[int(k)]
            rng = entity_rng(self.seed, "retouch", photo_id)
            image, quality = self._shopper_image(listing, original, size)
            if rng.random() < EXACT_RELIST_SHARE:
                return to_jpeg(image, quality)
            return to_jpeg(retouch(image, rng), int(rng.integers(55, 92)))
        image, quality = self._shopper_image(listing, photo_id, size)
        return to_jpeg(image, quality)

    def _shopper_image(self, listing: Listing, photo_id: str, size: int) -> tuple[Image.Image, int]:
        rng = entity_rng(self.seed, "photo", photo_id)
        shot = shopper_shot(rng)
        return render(listing.design.look(), shot, size, rng), shot.quality

    def render_shopper_photo(self, design_id: str, k: int, size: int = 256) -> bytes:
        """A customer's photo of catalogue design ``design_id`` (its ``k``-th): the
        marketplace's shopper framing, so it is a street-to-shop query with a known match."""
        design = self.design(design_id)
        rng = entity_rng(self.seed, "shopper", f"{design_id}/{k}")
        shot = shopper_shot(rng)
        return to_jpeg(render(design.look(), shot, size, rng), shot.quality)

    def render_catalogue_view(self, design_id: str, view: int, size: int = 256) -> bytes:
        """A studio JPEG of a catalogue design: view 0 front, 1 second front, 2 back, 3-4 close-ups."""
        if not 0 <= view < CATALOGUE_VIEWS:
            raise ValueError(f"view must be in 0..{CATALOGUE_VIEWS - 1}. Received: {view}")
        design = self.design(design_id)
        rng = entity_rng(self.seed, "view", f"{design_id}/{view}")
        shot = studio_shot(view, rng)
        return to_jpeg(render(design.look(), shot, size, rng), shot.quality)
