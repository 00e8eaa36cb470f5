"""A t-SNE map of one task's encodings, points coloured by their label.

The retailer checked the colour space this way: images of one colour should gather.
Multi-label rows are drawn in the colour of their first label.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

# House colour classes drawn in their own colour; any other label falls back to tab20.
NAMED = {
    "orange": "#f28e2b",
    "yellow": "#f1ce2e",
    "white": "#f4f4f4",
    "green": "#3a9a4a",
    "grey": "#8c8c8c",
    "red": "#d62728",
    "brown": "#7f4f24",
    "beige": "#d9c8a0",
    "blue": "#1f5fbf",
    "black": "#111111",
    "pink": "#ff8fc6",
}


def tsne_2d(x: np.ndarray, seed: int = 0) -> np.ndarray:
    from sklearn.manifold import TSNE

    x = np.asarray(x, dtype=np.float32)
    perplexity = float(max(2, min(30, (len(x) - 1) // 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(
        x
    )


def plot_tsne(points: np.ndarray, labels: Sequence[str], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 7))
    names = sorted(set(labels))
    fallback = plt.get_cmap("tab20")
    labels_arr = np.asarray(labels)
    for i, name in enumerate(names):
        sel = labels_arr == name
        ax.scatter(
            points[sel, 0],
            points[sel, 1],
            s=14,
            c=NAMED.get(name, fallback(i % 20)),
            edgecolors="#555555",
            linewidths=0.3,
            label=f"{name} ({int(sel.sum())})",
        )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.legend(fontsize=8, markerscale=1.5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
