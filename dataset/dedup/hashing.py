"""Stage 1a: perceptual hashes of every image, fast, parallel and cached by content.

Speed comes from decoding less: each image is decoded once, in RGB at ``feature_side``
(the JPEG decoder scales down in the DCT domain, ``Image.draft``: a 1000x800 photo
decodes at 250x200, several times faster than a full decode), and that one decode
serves every hash kind, the chroma grid (CIELAB a*, b* on 12x12 cells) and stage 2's
views (:func:`dataset.dedup.verify.decode`). Stage 2 rejects the candidate pairs of
different colours with the grid before it makes any view. The cache
(``hashes.parquet``) is keyed by the SHA-1 of the image bytes, so a rerun, or a new
dataset version over the same photos, hashes only new ones; its rows carry
:data:`CACHE_VERSION` and the ``feature_side`` of their hashes and grid, and other rows
are made anew.

>>> from dataset.dedup.verify import decode
>>> from dataset.synthetic.near_duplicates import make_near_duplicate_set
>>> data = next(iter(make_near_duplicate_set(1, 1, 0).images.values()))
>>> sorted(hash_image(decode(data, 160, 10**7), ["phash", "phash_object"]))
['height', 'phash', 'phash_object', 'width']
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from dataset.core.store import Store, open_store
from dataset.dedup.pixels import spill
from dataset.dedup.verify import CHROMA_GRID, Decoded, decode
from dataset.images.background import median
from dataset.images.safe import BadImage

logger = logging.getLogger(__name__)

CHUNK = 64  # images per task sent to a worker process: amortises the pickling
CACHE_VERSION = 3  # of a row of hashes.parquet: 2 added the chroma grid, 3 hashes at feature_side

HashFn = Callable[[Image.Image], int]


@functools.cache
def _hash_functions() -> dict[str, HashFn]:
    """The hash of each kind, of a grey image."""
    import imagehash

    def other(function: Callable[[Image.Image], Any]) -> HashFn:
        return lambda image: _bits(np.asarray(function(image).hash))

    return {
        "phash": perceptual_hash,
        "dhash": other(imagehash.dhash),
        "whash": other(imagehash.whash),
        "ahash": other(imagehash.average_hash),
        "fmhash": fourier_magnitude_hash,
    }


def _bits(bits: np.ndarray) -> int:
    """64 booleans, row by row, as one unsigned integer (the first is the highest bit)."""
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")


def _dct_rows(size: int, count: int) -> np.ndarray:
    """The first ``count`` rows of the unnormalised DCT-II matrix of ``size`` points (the
    transform of ``scipy.fftpack.dct``)."""
    frequency, position = np.arange(count)[:, None], np.arange(size)[None, :]
    return 2 * np.cos(np.pi * frequency * (2 * position + 1) / (2 * size))


_DCT_LOW = _dct_rows(32, 8)  # pHash: the 8x8 lowest frequencies of a 32x32 thumbnail
_HANNING = np.outer(np.hanning(64), np.hanning(64)).astype(np.float32)  # fmhash's window


def perceptual_hash(image: Image.Image) -> int:
    """``imagehash.phash`` of a grey image, the same bits: the 8x8 lowest DCT frequencies
    of a 32x32 Lanczos thumbnail above their median, the two transforms of the 8 rows
    and columns used as one product of small matrices (equal to scipy's to 1e-10, far
    below the gap between a coefficient and the median) instead of two full DCTs."""
    pixels = np.asarray(image.resize((32, 32), Image.Resampling.LANCZOS), np.float64)
    low = _DCT_LOW @ pixels @ _DCT_LOW.T
    return _bits(low > median(low))


def fourier_magnitude_hash(image: Image.Image) -> int:
    """64 bits of the Fourier magnitude spectrum: blind to where the content sits.

    A shift moves only the phase of the spectrum, so a copy shifted by 10% of the frame
    (which moves pHash by 20+ bits on a busy backdrop) keeps this hash; the bits are the
    low frequencies' log magnitudes above their median, as pHash does with the DCT.
    """
    grey = np.asarray(image.resize((64, 64), Image.Resampling.BILINEAR), np.float32)
    spectrum = np.abs(np.fft.rfft2((grey - grey.mean()) * _HANNING))  # soft borders
    # Rows 0..7 and 56..63 hold the low vertical frequencies; columns 1..4 (DC excluded).
    low = np.log1p(np.concatenate([spectrum[:8, 1:5], spectrum[-8:, 1:5]]))
    return _bits(low > median(low))


def hash_image(decoded: Decoded, kinds: Sequence[str]) -> dict[str, int]:
    """``{kind: 64-bit hash, "width": w, "height": h}`` of an image's grey levels at
    ``feature_side`` (:func:`dataset.dedup.verify.decode`: stage 2's decode serves)."""
    image = Image.fromarray(decoded.grey)
    functions = _hash_functions()
    width, height = decoded.size
    out: dict[str, int] = {"width": width, "height": height}
    # No plain backdrop: the whole frame is the best crop we have (and its hashes are the
    # frame's, a third of product photos on the look-alikes).
    box = decoded.object_box
    cropped = image.crop(box) if box is not None else image
    made: dict[tuple[str, bool], int] = {}  # (kind, of the frame): each hash made once
    for kind in kinds:
        source = cropped if kind.endswith("_object") else image
        base = kind.removesuffix("_object")
        key = (base, source is image)
        if key not in made:
            made[key] = functions[base](source)
        out[kind] = made[key]
    return out


# Worker state, set once per process by the pool initializer (not pickled per task).
_WORKER: dict[str, Any] = {}


def _init_worker(store_uri: str, known: frozenset[str], kinds: list[str], params: tuple) -> None:
    _WORKER.update(store=open_store(store_uri), known=known, kinds=kinds, params=params)


def _hash_chunk(keys: list[str]) -> list[dict[str, Any]]:
    store: Store = _WORKER["store"]
    max_pixels, feature_side, spill_folder = _WORKER["params"]
    rows, spilled = [], []
    for key in keys:
        row: dict[str, Any] = {"image_path": key}
        try:
            data = store.read_bytes(key)
        except Exception as exc:  # a missing or unreadable object is one bad image
            row["bad"] = f"missing ({type(exc).__name__})"
            rows.append(row)
            continue
        row["sha1"] = hashlib.sha1(data).hexdigest()
        if row["sha1"] not in _WORKER["known"]:
            try:
                decoded = decode(data, feature_side, max_pixels)
                row.update(hash_image(decoded, _WORKER["kinds"]))
                row["chroma"] = decoded.pixels.grid.tobytes()
                spilled.append((row, decoded.pixels))
            except BadImage as exc:
                row["bad"] = exc.reason
        rows.append(row)
    if spill_folder and spilled:
        places = spill(spill_folder, [pixels for _row, pixels in spilled])
        for (row, _pixels), place in zip(spilled, places, strict=True):
            row["pixels"] = place
    return rows


def _chunks(keys: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])


def _run_chunks(
    store: Store,
    keys: Sequence[str],
    known: frozenset[str],
    kinds: list[str],
    params: tuple,
    workers: int,
    progress: bool,
) -> list[dict[str, Any]]:
    from tqdm import tqdm

    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(keys), desc="hashing", unit="img", disable=not progress)
    if workers <= 1 or len(keys) <= CHUNK:
        _init_worker(store.uri, known, kinds, params)
        for chunk in _chunks(keys, CHUNK):
            rows.extend(_hash_chunk(chunk))
            bar.update(len(chunk))
    else:
        import multiprocessing

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker,
            initargs=(store.uri, known, kinds, params),
        ) as pool:  # fmt: skip
            for chunk_rows in pool.map(_hash_chunk, _chunks(keys, CHUNK)):
                rows.extend(chunk_rows)
                bar.update(len(chunk_rows))
    bar.close()
    return rows


def compute_hashes(
    store: Store,
    image_paths: Sequence[str],
    kinds: Sequence[str],
    *,
    cache_key: str | None = None,
    feature_side: int = 160,
    max_pixels: int = 40_000_000,
    workers: int | None = None,
    spill_folder: str | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per unique path: ``image_path, sha1, width, height, <kinds>..., chroma, bad,
    pixels``.

    ``chroma`` holds the bytes of the image's ``uint8`` chroma grid at ``feature_side``
    (:func:`chroma_grids` reads them back). ``bad`` holds the reason an image was skipped
    (missing, not an image, truncated, decompression bomb...) or ``None``. With
    ``cache_key``, the rows of images whose content is already in that parquet (same
    :data:`CACHE_VERSION` and ``feature_side``) are reused and the new ones are added to it.
    With ``spill_folder`` (a local folder), the pixels of each image hashed here are left
    there for stage 2 and ``pixels`` holds their :class:`pixels.Place` (else ``None``).
    Returns the frame and counts ``{"hashed": n, "from_cache": n, "bad": n}``.
    """
    kinds = list(kinds)
    columns = _columns(kinds)
    paths = list(dict.fromkeys(image_paths))
    cache = _read_cache(store, cache_key, kinds, feature_side)
    known = frozenset(cache.index)
    workers = workers or os.cpu_count() or 1
    params = (max_pixels, feature_side, spill_folder)
    rows = _run_chunks(store, paths, known, kinds, params, workers, progress)
    frame = pd.DataFrame(rows, columns=["image_path", "sha1", *columns, "pixels"])
    frame["pixels"] = frame["pixels"].astype(object).where(frame["pixels"].notna(), None)
    new = frame[frame["sha1"].notna() & ~frame["sha1"].isin(known)]
    from_cache = frame["sha1"].isin(known)
    if from_cache.any():
        cached = cache.loc[frame.loc[from_cache, "sha1"]]
        for column in columns:
            frame[column] = frame[column].astype(object)
            frame.loc[from_cache, column] = cached[column].astype(object).to_numpy()
    if cache_key and len(new):
        fresh = new.drop(columns=["image_path"]).drop_duplicates("sha1").set_index("sha1")
        merged = _typed(pd.concat([cache, fresh[columns]]).reset_index(), kinds)
        store.write_parquet(
            cache_key, merged.assign(version=CACHE_VERSION, feature_side=feature_side)
        )
    frame = _typed(frame, kinds)
    counts = {
        "hashed": int(len(new)),
        "from_cache": int(from_cache.sum()),
        "bad": int(frame["bad"].notna().sum()),
    }
    logger.info("hashes: %s", counts)
    return frame, counts


def chroma_grids(frame: pd.DataFrame) -> np.ndarray:
    """The chroma grids of the rows of :func:`compute_hashes` (good images only), stacked."""
    grids = [np.frombuffer(data, np.uint8) for data in frame["chroma"]]
    return np.stack(grids).reshape(len(frame), CHROMA_GRID, CHROMA_GRID, 2)


def _columns(kinds: list[str]) -> list[str]:
    return ["width", "height", *kinds, "chroma", "bad"]


def _read_cache(
    store: Store, cache_key: str | None, kinds: list[str], feature_side: int
) -> pd.DataFrame:
    columns = _columns(kinds)
    empty = pd.DataFrame(columns=["sha1", *columns]).set_index("sha1")
    if not cache_key or not store.exists(cache_key):
        return empty
    cache = store.read_parquet(cache_key)
    missing = [c for c in [*columns, "version", "feature_side"] if c not in cache.columns]
    if missing:
        # Hashes of another kind or an older version: start over (rows are cheap).
        logger.info("%s lacks %s: not reused", store.uri_for(cache_key), missing)
        return empty
    current = (cache["version"] == CACHE_VERSION) & (cache["feature_side"] == feature_side)
    usable = current & (cache["bad"].notna() | cache[[*kinds, "chroma"]].notna().all(axis=1))
    return cache.loc[usable, ["sha1", *columns]].drop_duplicates("sha1").set_index("sha1")


def _typed(frame: pd.DataFrame, kinds: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in ["width", "height", *kinds]:
        frame[column] = frame[column].astype("UInt64" if column in kinds else "Int64")
    for column in ("chroma", "bad"):
        frame[column] = frame[column].astype("object").where(frame[column].notna(), None)
    return frame
