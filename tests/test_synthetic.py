"""The synthetic garment world: deterministic, order-independent, faithful to its labels."""

from __future__ import annotations

import io
import itertools
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from dataset.synthetic import DemoUniverse
from dataset.synthetic.garments import (
    HOUSE_RGB,
    Look,
    Shot,
    garment_mask,
    render,
    shopper_shot,
)
from dataset.synthetic.shapes import BUILDERS
from dataset.synthetic.words import load_words


def _pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.float32)


@pytest.fixture(scope="module")
def world() -> DemoUniverse:
    return DemoUniverse(seed=3, items_per_category=8)


def test_same_seed_same_world_other_seed_other_world(world: DemoUniverse) -> None:
    again = DemoUniverse(seed=3, items_per_category=8)
    assert again.all_listings() == world.all_listings()
    assert again.catalogue_designs() == world.catalogue_designs()
    photo = world.listings("robes")[0].photo_ids[0]
    assert again.render_listing_photo(photo, size=64) == world.render_listing_photo(photo, size=64)
    design = world.catalogue_designs()[5].design_id
    assert again.render_catalogue_view(design, 1, 64) == world.render_catalogue_view(design, 1, 64)
    other = DemoUniverse(seed=4, items_per_category=8)
    assert [x.item_id for x in other.listings("robes")] != [
        x.item_id for x in world.listings("robes")
    ]


def test_results_do_not_depend_on_call_order(world: DemoUniverse) -> None:
    fresh = DemoUniverse(seed=3, items_per_category=8)
    # Photo first, before its category was ever listed, then categories in reverse order.
    target = world.listings("jupes")[2]
    photo = fresh.render_listing_photo(target.photo_ids[0], size=64)
    assert photo == world.render_listing_photo(target.photo_ids[0], size=64)
    assert fresh.listing(target.item_id) == target
    for slug in reversed(list(world.categories)):
        assert fresh.listings(slug) == world.listings(slug)


def test_item_ids_are_unique_and_listed_newest_first(world: DemoUniverse) -> None:
    ids = [x.item_id for x in world.all_listings()]
    assert len(ids) == len(set(ids))
    for slug in world.categories:
        numbers = [int(x.item_id) for x in world.listings(slug)]
        assert numbers == sorted(numbers, reverse=True)


def test_silhouettes_differ_between_types() -> None:
    masks = {t: garment_mask(Look(type=t, colours=("red",)), 64) for t in BUILDERS}
    ious = []
    for a, b in itertools.combinations(masks, 2):
        iou = (masks[a] & masks[b]).sum() / (masks[a] | masks[b]).sum()
        assert iou < 0.9, (a, b, iou)
        ious.append(iou)
    assert float(np.mean(ious)) < 0.6
    # Gender changes the proportions, not the type.
    child = garment_mask(Look(type="dresses", colours=("red",), gender="baby"), 64)
    assert (child & masks["dresses"]).sum() / (child | masks["dresses"]).sum() < 0.9


@pytest.mark.parametrize("colour", ["red", "blue", "yellow", "green"])
def test_garment_shows_its_colour(colour: str) -> None:
    look = Look(type="t-shirts", colours=(colour,), materials=("cotton",))
    image = np.asarray(render(look, Shot(), 64, np.random.default_rng(0)), dtype=np.float32)
    inside = garment_mask(look, 64)
    median = np.median(image[inside], axis=0)
    assert np.abs(median - np.asarray(HOUSE_RGB[colour])).max() < 40
    corner = image[:4, :4].reshape(-1, 3).mean(axis=0)
    assert corner.min() > 200, "studio background is plain and light"


def test_two_colour_design_shows_both_colours() -> None:
    look = Look(type="sweaters", colours=("black", "yellow"), pattern="stripes")
    image = np.asarray(render(look, Shot(), 96, np.random.default_rng(0)), dtype=np.float32)
    pixels = image[garment_mask(look, 96)]
    for colour in look.colours:
        near = np.linalg.norm(pixels - np.asarray(HOUSE_RGB[colour]), axis=1) < 60
        assert near.mean() > 0.15, colour


def test_shopper_photos_vary_and_clutter_the_background() -> None:
    look = Look(type="jeans", colours=("blue",), materials=("cotton",))
    rng = np.random.default_rng(7)
    shots = [shopper_shot(rng, plain_share=0.0) for _ in range(3)]
    images = [np.asarray(render(look, s, 64, rng), dtype=np.float32) for s in shots]
    assert len({s.angle for s in shots}) == 3
    for image in images:
        assert image.std(axis=(0, 1)).mean() > 20  # not a plain studio backdrop
    assert np.abs(images[0] - images[1]).mean() > 10


def test_labels_use_the_marketplace_words(world: DemoUniverse) -> None:
    words = load_words()
    colour_words = {w for ws in words.colour.values() for w in ws}
    material_words = {w for ws in words.material.values() for w in ws}
    gender_words = {w for ws in words.gender.values() for w in ws}
    assert world.categories == words.category
    listings = world.all_listings()
    for item in listings:
        assert item.design.type == words.category[item.category]
        assert set(item.colors or []) <= colour_words
        assert set(item.materials or []) <= material_words
        assert item.gender is None or item.gender in gender_words
        assert float(item.price_amount) > 0 and item.currency == "EUR"
        assert item.title
    assert any(item.colors is None for item in listings)
    assert any(len(item.colors or []) >= 2 for item in listings)


def test_class_imbalance_relists_and_pairs() -> None:
    world = DemoUniverse(seed=0, items_per_category=30)
    sizes = {world.categories[s]: len(world.listings(s)) for s in world.categories}
    assert sizes["dresses"] > 4 * sizes["puffer-jackets"]
    listings = world.all_listings()
    genders = Counter(item.design.genders[0] for item in listings)
    assert genders["women"] > 5 * genders["baby"]
    catalogue = {d.design_id for d in world.catalogue_designs()}
    paired = {item.pair_id for item in listings if item.pair_id}
    assert paired and paired <= catalogue and len(paired) < len(catalogue) / 2
    assert any(item.deleted for item in listings) and any(item.noai for item in listings)
    relists = [item for item in listings if item.relist_of]
    assert relists
    for relist in relists[:4]:
        original = world.listing(relist.relist_of or "")
        assert relist.design == original.design and relist.item_id != original.item_id
        a = _pixels(world.render_listing_photo(relist.photo_ids[0], size=64))
        b = _pixels(world.render_listing_photo(original.photo_ids[0], size=64))
        assert np.abs(a - b).mean() < 20  # the same photo, at most shifted and re-encoded


def test_catalogue_views_are_studio_jpegs(world: DemoUniverse) -> None:
    design = world.catalogue_designs()[0]
    views = [_pixels(world.render_catalogue_view(design.design_id, v, 64)) for v in range(5)]
    assert all(v.shape == (64, 64, 3) for v in views)
    assert np.abs(views[0] - views[3]).mean() > 10  # a close-up is not the front view
    with pytest.raises(ValueError, match="view"):
        world.render_catalogue_view(design.design_id, 9)
    with pytest.raises(KeyError):
        world.render_catalogue_view("P9999999", 0)
    with pytest.raises(KeyError):
        world.render_listing_photo("123-0")
    with pytest.raises(ValueError, match="Received: 'hats'"):
        garment_mask(Look(type="hats", colours=("red",)), 32)
