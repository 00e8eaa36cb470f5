"""What makes our rendered YAML interchangeable with ``kubectl kustomize`` output.

``s2s-crawl k8s render`` and the kustomizations in ``k8s/crawl`` must create the same
objects under the same names, so the ConfigMap name suffix is computed exactly as
kustomize's ``configMapGenerator`` computes it.

>>> kustomize_hash("s2s-crawl-categories", {"categories.txt": "robes\\njeans\\n"})
'249gfcd92h'
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml


def kustomize_hash(name: str, data: dict[str, str]) -> str:
    """The suffix kustomize's configMapGenerator appends to a ConfigMap name.

    kustomize hashes Go's ``json.Marshal`` of ``{"data", "kind", "name": ""}`` (sorted
    keys, no spaces, ``<>&`` escaped), takes 10 hex digits and swaps the characters
    that could spell words.
    """
    del name  # kustomize hashes before it names the object
    encoded = json.dumps(
        {"data": data, "kind": "ConfigMap", "name": ""},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        encoded = encoded.replace(char, escape)
    digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()
    return digest[:10].translate(str.maketrans("013ae", "ghkmt"))


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (the category list) as literal blocks, as kustomize does."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(objects: list[dict[str, Any]]) -> str:
    """Documents for ``kubectl apply -f -``."""
    return yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
