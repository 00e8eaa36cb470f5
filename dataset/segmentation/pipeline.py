"""The segmentation stage: manifest in, manifest with ``segmented_path`` and ``segmentation``.

Each image is cut out (:mod:`dataset.segmentation.cut`) and written as the garment on
white (JPEG, the photo's size: shards hold JPEG, which has no alpha, and the house
catalogue's studio shots are on white too) to ``<out>/segmented/<sha1>-<variant>.jpg``,
its mask beside it as a 1-bit PNG (``<sha1>-<variant>.png``, ``mask_path``), where
``variant`` hashes the parameters, the localiser model and the annotation box. Every row
also gets the ``box`` GrabCut ran in (``[x0, y0, x1, y1]``, margin included) and its
``box_source``. ``segments.parquet`` records every result by that key, so a rerun only
cuts new images or new parameters. With a localiser (``SegmentConfig.localiser``), this
process reads the photos and runs it on a chunk at a time, while worker processes that
never load Keras make the cuts (GrabCut: most of the time).

``segmentation`` status: ``segmented``; ``fallback: <why>`` (the quality check failed,
``segmented_path`` is the original image); ``bad: <reason>`` (unreadable, no path).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from dataset.core.errors import UserError
from dataset.core.store import Store, open_store
from dataset.images.safe import BadImage, open_image
from dataset.segmentation.config import SegmentConfig
from dataset.segmentation.cut import on_white, segment_array
from dataset.segmentation.localiser import Localiser

logger = logging.getLogger(__name__)

CHUNK = 16  # images per task (and per localiser batch): GrabCut takes milliseconds each
COLUMNS = ["sha1", "variant", "segmentation", "segmented_path", "mask_path", "box",
           "box_source", "mask_fraction"]  # fmt: skip

Task = tuple[str, list[float] | None]
# _init_worker's arguments but the localiser: store URI, config JSON, out, cache, model id
WorkerArgs = tuple[str, str, str, dict[str, dict], str | None]


def _variant(
    config: SegmentConfig, localiser_id: str | None, annotation: list[float] | None
) -> str:
    text = f"{config.fingerprint()}|{localiser_id}|{json.dumps(annotation)}"
    return hashlib.sha1(text.encode()).hexdigest()[:12]


_WORKER: dict[str, Any] = {}


def _init_worker(
    store_uri: str,
    config_json: str,
    out: str,
    done: dict[str, dict],
    localiser_id: str | None,
    localiser: Localiser | None = None,
) -> None:
    """The state of a process that reads or cuts; only the one that locates (this
    process, never a pooled worker) gets the ``localiser``."""
    _WORKER.clear()  # a run in this process before may have loaded another localiser
    _WORKER.update(
        store=open_store(store_uri),
        config=SegmentConfig.model_validate_json(config_json),
        out=out,
        done=done,
        localiser_id=localiser_id,
        localiser=localiser,
    )


def _png(mask: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")  # a boolean array is a 1-bit image
    return buffer.getvalue()


def _read(store: Store, key: str, annotation: list[float] | None) -> dict[str, Any]:
    """The row of one image so far: cached result, or its pixels (``_rgb``), or why bad."""
    config: SegmentConfig = _WORKER["config"]
    row: dict[str, Any] = {"image_path": key}
    try:
        data = store.read_bytes(key)
    except Exception as exc:  # a missing object is one bad image, not the end of the run
        return {**row, "segmentation": f"bad: missing ({type(exc).__name__})"}
    row["sha1"] = hashlib.sha1(data).hexdigest()
    row["variant"] = _variant(config, _WORKER["localiser_id"], annotation)
    cached = _WORKER["done"].get(f"{row['sha1']}-{row['variant']}")
    if cached is not None:
        return {**row, **cached, "segmented_path": cached["segmented_path"] or key}
    try:
        rgb = np.asarray(open_image(data, max_pixels=config.max_pixels, mode="RGB"))
    except BadImage as exc:
        return {**row, "segmentation": f"bad: {exc.reason}"}
    return {**row, "_rgb": rgb}


def _cut(store: Store, row: dict[str, Any], annotation: list[float] | None,
         located: tuple[Any, np.ndarray | None]) -> dict[str, Any]:  # fmt: skip
    config: SegmentConfig = _WORKER["config"]
    rgb = row.pop("_rgb")
    localised, prior = located
    mask, box, source, problem = segment_array(rgb, annotation, config, localised, prior)
    row.update(box=list(box), box_source=source, mask_fraction=float(mask.mean()))
    if problem is not None:
        # The cache stores no path for a fallback: the original key may change.
        return {**row, "segmentation": f"fallback: {problem}", "segmented_path": row["image_path"]}
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(on_white(rgb, mask)).save(buffer, format="JPEG", quality=config.jpeg_quality)
    stem = f"{_WORKER['out']}/segmented/{row['sha1']}-{row['variant']}"
    store.write_bytes(f"{stem}.jpg", buffer.getvalue())
    store.write_bytes(f"{stem}.png", _png(mask))
    return {**row, "segmentation": "segmented", "segmented_path": f"{stem}.jpg",
            "mask_path": f"{stem}.png"}  # fmt: skip


Located = dict[int, tuple[Any, np.ndarray | None]]


def _read_and_locate(tasks: list[Task]) -> tuple[list[dict[str, Any]], Located]:
    """A chunk's rows, and the localiser's finds for the photos to cut that carry no
    annotation (one batch per chunk)."""
    rows = [_read(_WORKER["store"], key, box) for key, box in tasks]
    todo = [i for i, row in enumerate(rows) if "_rgb" in row and tasks[i][1] is None]
    if not (todo and _WORKER["localiser"] is not None):
        return rows, {}
    found = _WORKER["localiser"].locate([rows[i]["_rgb"] for i in todo])
    return rows, dict(zip(todo, found, strict=True))


def _cut_chunk(tasks: list[Task], rows: list[dict[str, Any]], located: Located) -> list[dict]:
    return [
        _cut(_WORKER["store"], row, box, located.get(i, (None, None))) if "_rgb" in row else row
        for i, (row, (_key, box)) in enumerate(zip(rows, tasks, strict=True))
    ]


def _segment_chunk(tasks: list[Task]) -> list[dict[str, Any]]:
    return _cut_chunk(tasks, *_read_and_locate(tasks))


def _fallback_by_domain(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per domain (``shop``, ``user``...; ``all`` without a domain column): images cut or
    kept whole, and the share kept whole, the figure to watch on shoppers' photos."""
    unique = frame.drop_duplicates("image_path")
    domains = unique["domain"].fillna("unknown") if "domain" in unique else "all"
    out = {}
    for domain, rows in unique.assign(_domain=domains).groupby("_domain"):
        status = rows["segmentation"].astype(str).str.split(":").str[0]
        cut = int(((status == "segmented") | (status == "fallback")).sum())
        fallback = int((status == "fallback").sum())
        out[str(domain)] = {"images": cut, "fallback": fallback,
                            "fallback_share": round(fallback / cut, 4) if cut else 0.0}  # fmt: skip
    return out


def _chunks(tasks: Sequence[Task], size: int) -> Iterator[list[Task]]:
    for start in range(0, len(tasks), size):
        yield list(tasks[start : start + size])


def _located_here_cut_in_workers(
    work: list[Task], args: WorkerArgs, localiser: Localiser, workers: int, bar: Any
) -> list[dict[str, Any]]:
    """Read and localise here, one batch per chunk; cut in ``workers`` processes that
    never load Keras (spawned: a fork of a process whose Keras runs threads can deadlock).
    A few chunks ahead at most are in flight, so the decoded photos held stay bounded."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import Future

    _init_worker(*args, localiser=localiser)
    results: list[dict[str, Any]] = []
    in_flight: deque[Future[list[dict[str, Any]]]] = deque()

    def collect_oldest() -> None:
        rows = in_flight.popleft().result()
        results.extend(rows)
        bar.update(len(rows))

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=args
    ) as pool:
        for chunk in _chunks(work, CHUNK):
            in_flight.append(pool.submit(_cut_chunk, chunk, *_read_and_locate(chunk)))
            if len(in_flight) > 2 * workers:
                collect_oldest()
        while in_flight:
            collect_oldest()
    return results


def segment_images(
    store: Store,
    manifest: pd.DataFrame,
    config: SegmentConfig,
    *,
    out: str,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Add ``segmented_path`` and ``segmentation`` (status) to each row of ``manifest``.

    Reads ``image_path`` (and ``config.bbox_column`` when present: ``[x0, y0, x1, y1]``
    in pixels, or null). ``out`` is the dataset folder. The summary counts each status
    and box source, and lists ``bad_images`` (``[{"image_path", "reason"}]``).
    """
    from tqdm import tqdm

    if "image_path" not in manifest.columns:
        raise UserError("manifest has no 'image_path' column (store keys of the images)")
    out = out.rstrip("/")
    frame = manifest.reset_index(drop=True).copy()
    boxes = frame.get(config.bbox_column, pd.Series(None, index=frame.index, dtype=object))
    tasks: list[Task] = []
    for key, box in zip(frame["image_path"].astype(str), boxes, strict=True):
        usable = box is not None and not (np.isscalar(box) and pd.isna(box))
        tasks.append((key, [float(v) for v in box] if usable else None))
    unique = list(dict.fromkeys((key, json.dumps(box)) for key, box in tasks))
    work: list[Task] = [(key, json.loads(box)) for key, box in unique]

    cache_key = config.cache_key or f"{out}/segments.parquet"
    cache = store.read_parquet(cache_key) if store.exists(cache_key) else pd.DataFrame()
    done = {
        f"{r['sha1']}-{r['variant']}": {c: r[c] for c in COLUMNS[2:]}
        for r in cache.to_dict("records")
    }
    # Loaded here once: a missing or broken model stops the stage before any work, and
    # its id (hash of the file) is part of every image's cache key.
    localiser = Localiser.from_store(store, config.localiser) if config.localiser else None
    localiser_id = localiser.model_id if localiser is not None else None
    workers = config.workers or os.cpu_count() or 1
    args: WorkerArgs = (store.uri, config.model_dump_json(), out, done, localiser_id)
    results: list[dict[str, Any]] = []
    bar = tqdm(total=len(work), desc="segmenting", unit="img", disable=not progress)
    if workers <= 1 or len(work) <= CHUNK:
        _init_worker(*args, localiser=localiser)
        for chunk in _chunks(work, CHUNK):
            results.extend(_segment_chunk(chunk))
            bar.update(len(chunk))
    elif localiser is None:
        import multiprocessing

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=args
        ) as pool:
            for chunk_rows in pool.map(_segment_chunk, _chunks(work, CHUNK)):
                results.extend(chunk_rows)
                bar.update(len(chunk_rows))
    else:
        results = _located_here_cut_in_workers(work, args, localiser, workers, bar)
    bar.close()

    table = pd.DataFrame(results, columns=["image_path", *COLUMNS])
    table["_task"] = [box for _key, box in unique]
    new = table[
        table["sha1"].notna()
        & ~table["segmentation"].str.startswith("bad")
        & ~(table["sha1"] + "-" + table["variant"]).isin(list(done))
    ]
    if len(new):
        record = new[COLUMNS].copy()
        record.loc[record["segmentation"] != "segmented", ["segmented_path", "mask_path"]] = None
        merged = pd.concat([cache, record], ignore_index=True) if len(cache) else record
        store.write_parquet(cache_key, merged.drop_duplicates(["sha1", "variant"], keep="last"))

    lookup = table.set_index(["image_path", "_task"])
    index = pd.MultiIndex.from_tuples([(key, json.dumps(box)) for key, box in tasks])
    matched = lookup.reindex(index)
    frame["segmented_path"] = matched["segmented_path"].to_numpy()
    frame["segmentation"] = matched["segmentation"].to_numpy()
    statuses = table["segmentation"].str.split(":").str[0]
    bad = table[statuses == "bad"]
    frame["mask_path"] = matched["mask_path"].to_numpy()
    frame["box"] = matched["box"].to_numpy()
    frame["box_source"] = matched["box_source"].to_numpy()
    summary: dict[str, Any] = {
        "images": int(len(table)),
        "fallback_by_domain": _fallback_by_domain(frame),
        "segmented": int((statuses == "segmented").sum()),
        "fallback": int((statuses == "fallback").sum()),
        "bad": int(len(bad)),
        "from_cache": int(len(table) - len(new) - len(bad)),
        "box_sources": {k: int(v) for k, v in table["box_source"].value_counts().items()},
        # Box source of the cuts that fell back: which boxes the quality check rejects.
        "fallback_box_sources": {
            k: int(v)
            for k, v in table.loc[statuses == "fallback", "box_source"].value_counts().items()
        },
        "masks": int(table["mask_path"].notna().sum()),
        "localiser": {"model": config.localiser, "model_id": localiser_id}
        if config.localiser
        else None,
        "fallback_reasons": {
            k: int(v)
            for k, v in table.loc[statuses == "fallback", "segmentation"].value_counts().items()
        },
        "bad_images": [
            {"image_path": p, "reason": s.removeprefix("bad: ")}
            for p, s in zip(bad["image_path"], bad["segmentation"], strict=True)
        ],
    }
    logger.info("segmentation: %s", {k: v for k, v in summary.items() if k != "bad_images"})
    for domain, counts in summary["fallback_by_domain"].items():
        logger.info("segmentation fallbacks, %s photos: %d of %d (%.1f%%)", domain,
                    counts["fallback"], counts["images"], 100 * counts["fallback_share"])  # fmt: skip
    return frame, summary
