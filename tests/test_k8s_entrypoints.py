"""Container commands of the manifests, run here with the environment a pod would have."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dataset.core import clikit
from tests.demo_site_fixtures import demo_site_factory as demo_site_factory  # noqa: F401
from tests.k8s_fixtures import (
    KUSTOMIZATIONS,
    ROOT,
    TFJOB,
    env_of,
    expand,
    kustomize,
    load_yaml,
    needs_kubectl,
    pod_templates,
)

pytestmark = needs_kubectl
CONSOLE_SCRIPTS = {
    "s2s-crawl": "crawler.commands",
    "s2s-dataset": "dataset.commands",
    "s2s-train": "training.commands",
}


def containers() -> list[tuple[str, dict[str, Any]]]:
    objects = [(path, o) for path in KUSTOMIZATIONS for o in kustomize(path)]
    objects += [("k8s/train-multinode/tfjob.yaml", o) for o in load_yaml(TFJOB)]
    return [
        (f"{path}:{where}/{container['name']}", container)
        for path, obj in objects
        for where, template in pod_templates(obj)
        for container in template["spec"].get("initContainers", []) + template["spec"]["containers"]
    ]


def command_line(container: dict[str, Any]) -> list[str]:
    env = env_of(container)
    words = [expand(w, env) for w in container["command"] + container.get("args", [])]
    if words[:3] == ["python3", "-m", "training.cluster"]:
        words = words[4:] if words[3] == "--" else words[3:]  # the wrapper execs the rest
    return words


@pytest.mark.parametrize("where_container", containers(), ids=lambda wc: wc[0])
def test_manifest_commands_parse_with_the_real_cli(
    where_container: tuple[str, dict[str, Any]],
) -> None:
    where, container = where_container
    script, command, *rest = command_line(container)
    package = CONSOLE_SCRIPTS[script]
    parser = clikit.build_parser(script, "", package)
    try:
        args = parser.parse_args([command, *rest])
    except SystemExit:
        pytest.fail(f"{where}: `{script} {command}` rejects {rest}")
    assert isinstance(args, argparse.Namespace)


def max_per_second(times: list[float]) -> int:
    """The most requests in any sliding one-second window."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_crawl_pod_command_crawls_its_index_with_its_share_of_the_budget(
    tmp_path: Path,
    demo_site_factory: Any,  # noqa: F811
) -> None:
    objects = kustomize("k8s/crawl/overlays/demo")
    job = next(o for o in objects if o["kind"] == "Job")
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    categories_text = config_map["data"]["categories.txt"]
    categories = categories_text.splitlines()
    index = 1
    site = demo_site_factory()

    # The pod's environment, with the Service URLs and the emptyDir store made local.
    (tmp_path / "categories.txt").write_text(categories_text)
    store = tmp_path / "store"
    env = env_of(container) | {
        "S2S_BASE_URL": site.base_url,
        "S2S_IMAGE_BASE_URL": site.image_base_url,
        "S2S_STORE": str(store),
        "HOME": str(tmp_path),
        "JOB_COMPLETION_INDEX": str(index),  # set by the Job controller
    }
    words = command_line(container | {"env": [{"name": k, "value": v} for k, v in env.items()]})
    words[words.index("/etc/s2s/categories.txt")] = str(tmp_path / "categories.txt")
    assert words[:2] == ["s2s-crawl", "run"]
    done = subprocess.run(
        [sys.executable, "-m", "crawler", *words[1:], "--max-items", "6"],
        capture_output=True,
        text=True,
        env=dict(os.environ, **env, PYTHONPATH=str(ROOT)),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    crawled = {p.name for p in (store / "raw" / "demo").iterdir() if p.is_dir()} - {"images"}
    assert crawled == {categories[index]}
    records = [
        json.loads(line)
        for path in (store / "raw" / "demo" / categories[index] / "items").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert records and {r["category"] for r in records} == {categories[index]}

    log = [json.loads(line) for line in site.request_log.read_text().splitlines()]
    paths = [entry["path"] for entry in log if entry["host"] == "pages"]
    others = [c for c in categories if c != categories[index]]
    assert not [p for p in paths if any(f"/{c}" in p or f"={c}" in p for c in others)]
    # This pod's share: S2S_RATE / S2S_PARALLELISM requests/s on each host.
    share = float(env["S2S_RATE"]) / int(env["S2S_PARALLELISM"])
    by_host = Counter(entry["host"] for entry in log)
    assert by_host["pages"] >= 2
    for host in by_host:
        times = [entry["t"] for entry in log if entry["host"] == host]
        assert max_per_second(times) <= max(1, int(share)), host


@pytest.mark.parametrize(
    ("config", "module", "loader"),
    [
        ("k8s/train/train.yaml", "training.config", "load_config"),
        ("k8s/train-multinode/train.yaml", "training.config", "load_config"),
        ("k8s/dataset/dataset.yaml", "dataset.build.config", "load_config"),
    ],
)
def test_mounted_configs_are_valid_for_their_command(config: str, module: str, loader: str) -> None:
    load = getattr(importlib.import_module(module), loader)
    assert load(ROOT / config) is not None
    if "multinode" in config:
        assert load(ROOT / config).strategy == "multi_worker"
