"""Label mapping throughput: the project's vectorised mapper vs a per-record Python loop.

Generates N listing records (default 1,000,000) with raw values as marketplaces write
them: the demo marketplace's words in several spellings (case, accents, extra spaces,
plurals), multi-value cells (``Kaki, Moutarde``, ``bleu/blanc``, ``60% coton, 40%
polyester``), two-value lists, missing values and about 1% of words no table knows.
Then maps them onto the house taxonomy with the demo tables:

- project: :func:`dataset.mapping.marketplace.label_frame` (normalise and look up each *distinct*
  cell once, bit masks OR-ed per listing with numpy);
- baseline: a per-record Python loop calling the same resolver for every value of
  every record (what the issue rules out). It runs on a sample (``--baseline-rows``),
  its rate is extrapolated to N, and its labels are checked equal to the project's.

Issue 3 target: 1,000,000 records in under 20 s on this 2-core machine. Peak memory is
the process's peak RSS (generated records included).

    PYTHONPATH=. python bench/mapping_bench.py            # 1,000,000 records
    PYTHONPATH=. python bench/mapping_bench.py --quick    # 100,000 records
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import header, peak_rss_mib, table  # noqa: E402

from dataset.mapping.mapper import resolve  # noqa: E402
from dataset.mapping.marketplace import DEFAULT_FIELDS, label_frame  # noqa: E402
from dataset.mapping.tables import MappingTable, load_tables  # noqa: E402
from dataset.synthetic.words import load_words  # noqa: E402
from dataset.taxonomy.schema import Taxonomy, load_taxonomy  # noqa: E402

TARGET_S = 20.0
UNKNOWN = {
    "colors": ["Vert sapin", "Lilas", "Pétrole", "Taupe clair"],
    "materials": ["Alpaga", "Lyocell", "Modal"],
    "gender": ["Genre neutre"],  # not in the tables ("Mixte" joined _common in issue 14)
}


def _spellings(word: str) -> list[str]:
    """The ways sellers write one word."""
    plain = word.replace("é", "e").replace("è", "e").replace("ç", "c")
    out = [word, word.lower(), word.upper(), f"  {word} ", plain, plain.lower()]
    if not word.endswith(("s", "x", "%")):
        out.append(word + "s")
    return out


def _pool(
    words: list[str], unknown: list[str], joiners: list[str], rng: np.random.Generator, multi: bool
) -> tuple[list[Any], np.ndarray]:
    """Distinct raw cells of one field and their draw weights (Zipf-like, unknown ~1%)."""
    cells: list[Any] = []
    for word in words:
        cells.extend(_spellings(word))
    singles = len(cells)
    if multi:
        for _ in range(len(words) * 6):
            a, b = rng.choice(words, 2, replace=False)
            joiner = joiners[int(rng.integers(len(joiners)))]
            cells.append(f"{a}{joiner}{b}")  # one cell holding two values
            cells.append([str(a), str(b).lower()])  # a two-value list
    known = len(cells)
    # Zipf-like popularity in a random order; multi-value cells are a minority; unknown ~1%.
    weights = rng.permutation(1.0 / np.arange(1, known + 1) ** 0.8)
    weights[singles:] *= 0.12
    weights = np.concatenate([0.99 * weights / weights.sum(), np.full(len(unknown), 0.01)])
    return cells + list(unknown), weights / weights.sum()


def make_listings(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` listing records: colors/materials (lists), gender and category (strings)."""
    rng = np.random.default_rng(seed)
    words = load_words()
    colour_words = [w for ws in words.colour.values() for w in ws]
    material_words = [w for ws in words.material.values() for w in ws]
    material_words += ["60% coton, 40% polyester", "95% Coton 5% élasthanne", "Laine et soie"]
    gender_words = [w for ws in words.gender.values() for w in ws]
    frame: dict[str, Any] = {}
    specs = {
        "colors": (colour_words, [", ", "/", " et ", " - ", " & "], True),
        "materials": (material_words, [", ", " / ", " et "], True),
        "gender": (gender_words, [], False),
    }
    for column, (vocab, joiners, multi) in specs.items():
        cells, weights = _pool(vocab, UNKNOWN[column], joiners, rng, multi)
        values = np.empty(len(cells) + 1, dtype=object)
        for i, cell in enumerate(cells):
            # The record fields colors/materials are lists; gender is a string.
            values[i] = cell if not multi or isinstance(cell, list) else [cell]
        values[len(cells)] = None  # missing value
        p = np.concatenate([weights * 0.95, [0.05]])
        frame[column] = values[rng.choice(len(values), n, p=p / p.sum())]
    slugs = list(words.category)
    frame["category"] = np.array(slugs, dtype=object)[rng.integers(0, len(slugs), n)]
    frame["item_id"] = np.arange(n).astype(str)
    return pd.DataFrame(frame)


def naive(listings: pd.DataFrame, taxonomy: Taxonomy, tables: dict[str, MappingTable]) -> dict:
    """The baseline: every value of every record normalised and looked up in Python."""
    out: dict[str, list[list[str]]] = {task: [] for task in taxonomy.tasks}
    for record in listings.to_dict("records"):
        for task_name, task in taxonomy.tasks.items():
            cell = record.get(DEFAULT_FIELDS[task_name])
            raws = cell if isinstance(cell, list) else [] if cell is None else [cell]
            labels: set[str] = set()
            for raw in raws:
                found, _missing = resolve(str(raw), tables[task_name], task.multi_label)
                labels.update(found)
            out[task_name].append([label for label in task.ids if label in labels])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="100,000 records, 10,000 baseline")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.records, args.baseline_rows = 100_000, 10_000

    taxonomy = load_taxonomy()
    tables = load_tables("demo", taxonomy)
    started = time.perf_counter()
    listings = make_listings(args.records, args.seed)
    generate_s = time.perf_counter() - started
    distinct = {c: listings[c].astype(str).nunique() for c in ("colors", "materials", "gender")}
    multi = listings["colors"].map(lambda c: isinstance(c, list) and (len(c) > 1 or any(
        sep in c[0] for sep in (",", "/", " et ", " - ", "&")))).mean()  # fmt: skip
    rss_before = peak_rss_mib()

    started = time.perf_counter()
    labelled = label_frame(listings.copy(), "demo", taxonomy, tables)
    project_s = time.perf_counter() - started
    rss_after = peak_rss_mib()

    sample = listings.iloc[: args.baseline_rows]
    started = time.perf_counter()
    expected = naive(sample, taxonomy, tables)
    naive_s = time.perf_counter() - started
    mismatches = sum(
        int(a != b)
        for task in taxonomy.tasks
        for a, b in zip(
            expected[task], labelled.listings[task].iloc[: args.baseline_rows], strict=True
        )
    )
    coverage = {
        task: float((r.has_value & r.complete).sum() / max(r.has_value.sum(), 1))
        for task, r in labelled.results.items()
    }

    header(
        "Label mapping throughput (issue 3)",
        f"{args.records:,} generated listing records (4 fields each; distinct raw cells: "
        f"colour {distinct['colors']}, material {distinct['materials']}, gender "
        f"{distinct['gender']}, type 15; {multi:.0%} of colour cells multi-value; ~1% unknown "
        f"words; 5% missing), demo mapping tables; generation {generate_s:.1f} s (not counted)",
    )
    n = args.records
    naive_rate = args.baseline_rows / naive_s
    table(
        ["mapper", "records", "time (s)", "records/s", "target"],
        [
            [
                "project (`label_frame`: per distinct value, numpy bit masks)",
                f"{n:,}",
                f"{project_s:.2f}",
                f"{n / project_s:,.0f}",
                f"< {TARGET_S:.0f} s for 1M",
            ],
            [
                "baseline: Python loop per record and value",
                f"{args.baseline_rows:,}",
                f"{naive_s:.2f}",
                f"{naive_rate:,.0f}",
                "",
            ],
            [
                f"baseline extrapolated to {n:,}",
                f"{n:,}",
                f"~{n / naive_rate:.0f}",
                f"{naive_rate:,.0f}",
                "",
            ],
        ],  # fmt: skip
    )
    print(
        f"Speed-up: x{(n / project_s) / naive_rate:.0f}. Same labels on the first "
        f"{args.baseline_rows:,} records: {'yes' if mismatches == 0 else f'NO ({mismatches} differ)'}"
        f". Coverage: " + ", ".join(f"{t} {c:.1%}" for t, c in coverage.items()) + ". Peak RSS: "
        f"{rss_before:,.0f} MiB after generating the records, {rss_after:,.0f} MiB after mapping "
        f"(+{rss_after - rss_before:,.0f} MiB for the mapping).\n"
    )
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
