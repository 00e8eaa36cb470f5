"""Where queries and gallery images come from: a dataset manifest or a DeepFashion2 folder.

Both become one frame, one row per image (or per garment crop) with the columns
``role`` (``query``: a user photo with a known pair, ``gallery``: a shop photo),
``image_path`` (key in ``store``), ``box`` (x1, y1, x2, y2 or all zero), ``match_key``
(rows of both roles with the same key are a positive pair; empty: none), ``category``,
``product_id``, ``pair_id`` and ``view``.

DeepFashion2 (https://github.com/switchablenorms/DeepFashion2): ``image/<n>.jpg`` and
``annos/<n>.json`` with ``source`` (user/shop), ``pair_id`` and ``item1..N`` each holding
``bounding_box``, ``category_id`` and ``style``. A positive pair shares ``pair_id`` and
the same ``style`` > 0 (style 0 items are not paired: shop ones stay as distractors).
Boxes are checked against the image (training/retrieval/boxes.py): clamped when partly
outside, skipped when outside or without area; an annotation or item with a missing or
non-numeric field, or whose image is missing, is skipped; every skip is counted by reason.
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dataset.core.errors import StoreError, UserError
from dataset.core.store import Store, open_store
from training.retrieval.boxes import as_numbers, fit_box

logger = logging.getLogger(__name__)

DF2_CATEGORIES = {
    1: "short sleeve top",
    2: "long sleeve top",
    3: "short sleeve outwear",
    4: "long sleeve outwear",
    5: "vest",
    6: "sling",
    7: "shorts",
    8: "trousers",
    9: "skirt",
    10: "short sleeve dress",
    11: "long sleeve dress",
    12: "vest dress",
    13: "sling dress",
}
NO_BOX = [0, 0, 0, 0]
COLUMNS = ["role", "image_path", "box", "match_key", "category", "product_id", "pair_id", "view"]


@dataclass
class ImageSet:
    store: Store
    frame: pd.DataFrame
    source: str
    skipped: Counter[str] = field(default_factory=Counter)

    def role(self, role: str) -> pd.DataFrame:
        return self.frame[self.frame["role"] == role].reset_index(drop=True)


def first_label(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "unknown"
    if isinstance(value, str):
        return value
    labels = list(value)
    return str(labels[0]) if labels else "unknown"


def _clean_id(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def split_dataset_uri(uri: str) -> tuple[str, str]:
    """(store root, manifest key) for a dataset folder or manifest URI.

    Manifest ``image_path`` keys are relative to the store root, which is the part of the
    URI before ``datasets/<name>/<version>``.
    """
    text = uri.rstrip("/")
    if not text.endswith(".parquet"):
        text += "/manifest.parquet"
    marker = text.rfind("/datasets/")
    if marker >= 0:
        return text[:marker] or "/", text[marker + 1 :]
    if text.startswith("datasets/"):
        return ".", text
    root, _, name = text.rpartition("/")
    return root or ".", name


def read_manifest(uri: str, store_uri: str | None = None) -> tuple[Store, pd.DataFrame, str]:
    root, key = split_dataset_uri(uri)
    store = open_store(store_uri or root)
    if store_uri:
        # The manifest itself is read where the URI says; images from --store.
        manifest_root, manifest_key = split_dataset_uri(uri)
        frame = open_store(manifest_root).read_parquet(manifest_key)
    else:
        frame = store.read_parquet(key)
    required = {"image_path", "domain"}
    missing = required - set(frame.columns)
    if missing:
        raise UserError(f"{uri}: manifest lacks columns {sorted(missing)}")
    return store, trained_images(frame), store.uri_for(key)


def trained_images(frame: pd.DataFrame) -> pd.DataFrame:
    """``image_path`` set to the image the training shards were made of: the garment's
    cut-out where the segment stage made one, else the photo (the shard export's rule);
    the photo stays in ``photo_path``.

    The encoder learnt from cut-outs: a shopper's whole photo (background and all) is an
    input it never saw, which left street-to-shop search near chance on the demo.
    """
    frame = frame.assign(photo_path=frame["image_path"])
    if "segmented_path" not in frame.columns:
        return frame
    cut = frame["segmented_path"].map(_clean_id)
    return frame.assign(image_path=cut.where(cut != "", frame["image_path"]))


def shop_rows(frame: pd.DataFrame, views: int) -> pd.DataFrame:
    """Shop images, the first ``views`` of each product (0: all), product order kept."""
    shop = frame[frame["domain"] == "shop"].copy()
    id_col = "product_id" if "product_id" in shop.columns else "item_id"
    if id_col not in shop.columns:
        raise UserError("manifest has neither product_id nor item_id for its shop rows")
    shop["product_id"] = shop[id_col].map(_clean_id)
    shop["category"] = _category(shop)
    shop["pair_id"] = shop["pair_id"].map(_clean_id) if "pair_id" in shop else ""
    if "view" not in shop.columns:
        # No view column: the catalogue export lists a product's views in order.
        shop = shop.sort_values(["product_id", "photo_path"], kind="stable")
        shop["view"] = shop.groupby("product_id").cumcount()
    if views > 0:
        shop = shop[shop["view"] < views]
    return shop


def _category(frame: pd.DataFrame) -> pd.Series:
    for column in ("type", "category"):
        if column in frame.columns:
            return frame[column].map(first_label)
    return pd.Series(["unknown"] * len(frame), index=frame.index)


def from_manifest(
    uri: str, store_uri: str | None = None, views: int = 0, query_split: str = "all"
) -> ImageSet:
    """Queries: user rows with a pair_id (of ``query_split`` when the manifest has splits);
    gallery: every shop row (first ``views`` per product), as a production search sees it."""
    store, frame, where = read_manifest(uri, store_uri)
    if "pair_id" not in frame.columns:
        raise UserError(f"{where}: manifest has no pair_id column (no user-shop pairs)")
    frame = frame.assign(pair_id=frame["pair_id"].map(_clean_id))
    is_query = (frame["domain"] == "user") & (frame["pair_id"] != "")
    if query_split != "all" and "split" in frame.columns:
        is_query &= frame["split"] == query_split
        if not is_query.any():
            raise UserError(
                f"{where}: no user photo with a pair_id in split {query_split!r} "
                "(--split all queries every split)"
            )
    users = frame.assign(category=_category(frame))[is_query]
    queries = pd.DataFrame(
        {
            "role": "query",
            "image_path": users["image_path"],
            "match_key": users["pair_id"],
            "category": users["category"],
            "product_id": users.get("item_id", pd.Series("", index=users.index)).map(_clean_id),
            "pair_id": users["pair_id"],
            "view": 0,
        }
    )
    shop = shop_rows(frame, views)
    gallery = pd.DataFrame(
        {
            "role": "gallery",
            "image_path": shop["image_path"],
            "match_key": shop["pair_id"],
            "category": shop["category"],
            "product_id": shop["product_id"],
            "pair_id": shop["pair_id"],
            "view": shop["view"],
        }
    )
    out = pd.concat([queries, gallery], ignore_index=True)
    out["box"] = [NO_BOX] * len(out)
    return ImageSet(store, out[COLUMNS], where)


def _integer(value: Any) -> int | None:
    """An integer from a JSON number or numeric text (DeepFashion2 uses numbers), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _image_size(store: Store, key: str) -> tuple[int, int] | None:
    """(width, height) from the image header, or None when it is missing or unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        local = store.local_path(key)
        source: Any = local if local is not None else io.BytesIO(store.read_bytes(key))
        with Image.open(source) as image:
            return image.size
    except (OSError, StoreError, UnidentifiedImageError):
        return None


def _df2_item(
    item: Any, size: tuple[int, int]
) -> tuple[tuple[list[int], int, int] | None, str | None]:
    """``((box, style, category_id), None)`` for a usable garment, else ``(None, reason)``."""
    if not isinstance(item, dict):
        return None, "bad_annotation"
    if "bounding_box" not in item:
        return None, "missing_box"
    numbers = as_numbers(item["bounding_box"])
    if numbers is None:
        return None, "bad_box"
    if "style" not in item or "category_id" not in item:
        return None, "missing_field"
    style, category_id = _integer(item["style"]), _integer(item["category_id"])
    if style is None or category_id is None or style < 0:
        return None, "bad_field"
    box, reason = fit_box(numbers, *size)
    if box is None:
        return None, reason
    return (box, style, category_id), None


def from_deepfashion2(uri: str) -> ImageSet:
    """Every garment of a DeepFashion2 folder as a crop; what cannot be used is counted
    by reason in ``skipped`` and left out (never guessed, never a traceback)."""
    store = open_store(uri)
    anno_keys = [k for k in store.list("annos/") if k.endswith(".json")]
    if not anno_keys:
        raise UserError(f"{uri}: no annos/*.json (not a DeepFashion2 folder)")
    rows: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    for key in anno_keys:
        try:
            anno = json.loads(store.read_bytes(key))
        except ValueError as exc:
            logger.debug("%s: skipped, not JSON (%s)", store.uri_for(key), exc)
            skipped["bad_annotation"] += 1
            continue
        if not isinstance(anno, dict) or "source" not in anno or "pair_id" not in anno:
            skipped["missing_field"] += 1
            continue
        source, pair = anno["source"], _integer(anno["pair_id"])
        if source not in ("user", "shop"):
            skipped["unknown_source"] += 1
            continue
        if pair is None:
            skipped["bad_field"] += 1
            continue
        pair_id = str(pair)
        image_key = "image/" + key.rsplit("/", 1)[-1][: -len(".json")] + ".jpg"
        names = sorted(
            (k for k in anno if k.startswith("item") and k[4:].isdigit()), key=lambda k: int(k[4:])
        )
        size = _image_size(store, image_key) if names else None
        if size is None:
            skipped["missing_image"] += len(names)
            continue
        for name in names:
            usable, reason = _df2_item(anno[name], size)
            if usable is None:
                logger.debug("%s %s: skipped (%s)", key, name, reason)
                skipped[str(reason)] += 1
                continue
            box, style, category_id = usable
            match = f"{pair_id}/{style}" if style > 0 else ""
            if source == "user" and not match:
                skipped["user_item_without_style"] += 1
                continue
            rows.append(
                {
                    "role": "query" if source == "user" else "gallery",
                    "image_path": image_key,
                    "box": box,
                    "match_key": match,
                    "category": str(
                        anno[name].get("category_name")
                        or DF2_CATEGORIES.get(category_id, category_id)
                    ),
                    "product_id": match or f"{image_key}#{name}",
                    "pair_id": pair_id,
                    "view": 0,
                }
            )
    if skipped:
        logger.warning(
            "%s: garments skipped by reason: %s", store.uri, dict(sorted(skipped.items()))
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return ImageSet(store, frame, store.uri, skipped)


def load_pairs(
    uri: str, store_uri: str | None = None, views: int = 0, query_split: str = "all"
) -> ImageSet:
    """A DeepFashion2 folder when ``uri`` holds ``annos/``, else a dataset manifest."""
    if not uri.rstrip("/").endswith(".parquet") and any(open_store(uri).list("annos/")):
        return from_deepfashion2(uri)
    return from_manifest(uri, store_uri, views, query_split)
