"""The search index on disk, in any store (a local folder or ``s3://bucket/prefix``).

```
index.json       encoder_id, encoder_uri, combination, dims, count, image_store, ivf
embeddings.npy   float16 (count, dims), L2-normalised rows
items.parquet    one row per embedding: product_id, image_path, pair_id, category, view
ivf.npz          centroids and cell offsets (optional; rows are stored sorted by cell)
```

Every query must be encoded by the encoder and combination the index was built with:
:meth:`SearchIndex.check_encoder` refuses anything else.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dataset.core.errors import UserError
from dataset.core.store import open_store
from training.retrieval.embed import Combination
from training.retrieval.knn import IVF, exact_topk

logger = logging.getLogger(__name__)

FORMAT = "s2s-search-index/1"
META_KEY = "index.json"
EMBEDDINGS_KEY = "embeddings.npy"
ITEMS_KEY = "items.parquet"
IVF_KEY = "ivf.npz"


class EncoderMismatch(UserError):
    """The index was built with another encoder than the one asked to query it."""


@dataclass
class SearchIndex:
    embeddings: np.ndarray  # float32 in memory: numpy has no fast float16 matrix product
    items: pd.DataFrame
    encoder_id: str
    combination: Combination
    encoder_uri: str = ""
    image_store: str = ""
    ivf: IVF | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.embeddings)

    def meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "encoder_id": self.encoder_id,
            "encoder_uri": self.encoder_uri,
            "combination": self.combination.to_json(),
            "dims": int(self.embeddings.shape[1]) if self.count else 0,
            "count": self.count,
            "image_store": self.image_store,
            "ivf": {"nlist": self.ivf.nlist} if self.ivf else None,
            **self.extra,
        }

    def with_ivf(self, nlist: int, seed: int = 0) -> SearchIndex:
        """A copy with an IVF over the rows (rows and items reordered cell by cell)."""
        ivf, order = IVF.build(self.embeddings, nlist, seed=seed)
        return SearchIndex(
            embeddings=self.embeddings[order],
            items=self.items.iloc[order].reset_index(drop=True),
            encoder_id=self.encoder_id,
            combination=self.combination,
            encoder_uri=self.encoder_uri,
            image_store=self.image_store,
            ivf=ivf,
            extra=self.extra,
        )

    def save(self, uri: str) -> None:
        store = open_store(uri)
        store.check()
        buffer = io.BytesIO()
        np.save(buffer, self.embeddings.astype(np.float16))
        store.write_bytes(EMBEDDINGS_KEY, buffer.getvalue())
        store.write_parquet(ITEMS_KEY, self.items)
        if self.ivf is not None:
            buffer = io.BytesIO()
            np.savez(buffer, centroids=self.ivf.centroids, offsets=self.ivf.offsets)
            store.write_bytes(IVF_KEY, buffer.getvalue())
        elif store.exists(IVF_KEY):
            store.delete(IVF_KEY)
        # Written last: an index without index.json is an unfinished one.
        store.write_json(META_KEY, self.meta())

    @classmethod
    def load(cls, uri: str) -> SearchIndex:
        store = open_store(uri)
        if not store.exists(META_KEY):
            raise UserError(f"{store.uri_for(META_KEY)}: no search index here (build one first)")
        meta = store.read_json(META_KEY)
        if meta.get("format") != FORMAT:
            raise UserError(
                f"{store.uri_for(META_KEY)}: unknown index format. Received: {meta.get('format')!r}"
            )
        embeddings = np.load(io.BytesIO(store.read_bytes(EMBEDDINGS_KEY))).astype(np.float32)
        items = store.read_parquet(ITEMS_KEY)
        if len(items) != len(embeddings) or len(embeddings) != meta["count"]:
            raise UserError(
                f"{store.uri}: index is inconsistent ({len(embeddings)} embeddings, "
                f"{len(items)} items, index.json says {meta['count']})"
            )
        ivf = None
        if meta.get("ivf"):
            arrays = np.load(io.BytesIO(store.read_bytes(IVF_KEY)))
            ivf = IVF(arrays["centroids"], arrays["offsets"])
        known = {"format", "encoder_id", "encoder_uri", "combination", "dims", "count"}
        known |= {"image_store", "ivf"}
        return cls(
            embeddings=embeddings,
            items=items,
            encoder_id=str(meta["encoder_id"]),
            combination=Combination.from_json(meta["combination"]),
            encoder_uri=str(meta.get("encoder_uri", "")),
            image_store=str(meta.get("image_store", "")),
            ivf=ivf,
            extra={k: v for k, v in meta.items() if k not in known},
        )

    def check_encoder(self, encoder_id: str, where: str) -> None:
        if encoder_id != self.encoder_id:
            raise EncoderMismatch(
                f"{where}: encoder {encoder_id!r} does not match the index's encoder "
                f"{self.encoder_id!r}; rebuild the index with this encoder"
            )

    def search(
        self, queries: np.ndarray, k: int, approximate: bool = False, nprobe: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row numbers of the ``k`` best rows per query (exact unless asked)."""
        if queries.shape[1] != self.embeddings.shape[1]:
            raise UserError(
                f"query has {queries.shape[1]} dims, the index {self.embeddings.shape[1]}"
            )
        if approximate:
            if self.ivf is None:
                raise UserError("this index has no approximate (IVF) part: rebuild with --ivf")
            return self.ivf.search(self.embeddings, queries, k, nprobe or self.ivf.default_nprobe())
        return exact_topk(self.embeddings, queries, k)

    def top_products(
        self, query: np.ndarray, top: int, approximate: bool = False, nprobe: int | None = None
    ) -> pd.DataFrame:
        """The ``top`` products for one query: best view's score per product, best first."""
        views = max(1, int(self.items.groupby("product_id").size().max())) if self.count else 1
        scores, rows = self.search(query[None], top * views, approximate, nprobe)
        found = self.items.iloc[rows[0][rows[0] >= 0]].copy()
        found["score"] = scores[0][rows[0] >= 0]
        found = found.drop_duplicates("product_id", keep="first").head(top)
        found.insert(0, "rank", np.arange(1, len(found) + 1))
        return found.reset_index(drop=True)

    def pair_rank(self, query: np.ndarray, pair_id: str) -> int | None:
        """Rank among products of the best product of ``pair_id`` (ties count against it)."""
        best = self.pair_best(query, pair_id)
        return None if best is None else int(best["rank"])

    def pair_best(self, query: np.ndarray, pair_id: str) -> dict[str, Any] | None:
        """The best-scoring view of ``pair_id``'s products: its item row, ``score`` and
        ``rank`` among products (ties count against it), or None when none is indexed."""
        scores = self.embeddings @ query
        best = (
            pd.DataFrame({"product_id": self.items["product_id"], "score": scores})
            .assign(pair=self.items["pair_id"] == pair_id)
            .groupby("product_id")
            .agg(score=("score", "max"), pair=("pair", "any"))
        )
        if not best["pair"].any():
            return None
        target = best.loc[best["pair"], "score"].max()
        rank = int(((best["score"] >= target) & ~best["pair"]).sum()) + 1
        row = int(np.argmax(np.where(self.items["pair_id"] == pair_id, scores, -np.inf)))
        return {**self.items.iloc[row].to_dict(), "score": float(scores[row]), "rank": rank}
