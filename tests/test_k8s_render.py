"""`s2s-crawl k8s render` builds exactly what the kustomize crawl manifests build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from crawler import k8s_render
from crawler.categories import read_categories
from crawler.kustomize_compat import kustomize_hash
from dataset.core.errors import UserError
from tests.k8s_fixtures import ROOT, kustomize, needs_kubectl

BASE_CATEGORIES = read_categories(ROOT / "k8s/crawl/base/categories.txt")
# The inputs each kustomization is documented to encode.
BASE = dict(
    site="demo",
    categories=BASE_CATEGORIES,
    image="street2shop/crawl:0.1.0",
    store="/data/store",
    rate=2,
    parallelism=3,
)
PRODUCTION = dict(
    BASE,
    image="registry.example.com/street2shop/crawl:0.1.0",
    store="s3://street2shop",
    rate=4,
    parallelism=5,
    namespace="street2shop",
    secret="s2s-s3-credentials",
)


def render(**values: Any) -> list[dict[str, Any]]:
    return k8s_render.render_objects(k8s_render.make_config(**values))


def normalised(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order-insensitive where Kubernetes is: env vars and volumes are keyed by name."""
    for obj in objects:
        if obj["kind"] in ("Job", "CronJob"):
            spec = obj["spec"] if obj["kind"] == "Job" else obj["spec"]["jobTemplate"]["spec"]
            pod = spec["template"]["spec"]
            pod["volumes"] = sorted(pod["volumes"], key=lambda v: v["name"])
            for container in pod["containers"]:
                container["env"] = sorted(container["env"], key=lambda e: e["name"])
    return objects


KIND_ORDER = ["ConfigMap", "PersistentVolumeClaim", "Job", "CronJob"]


def crawl_objects(path: str) -> list[dict[str, Any]]:
    """The ConfigMap and Job/CronJob of a crawl kustomization (not its demo site, ...)."""
    kept = [
        o
        for o in kustomize(path)
        if o["kind"] in KIND_ORDER
        and o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "crawl"
    ]
    return sorted(kept, key=lambda o: KIND_ORDER.index(o["kind"]))


@needs_kubectl
@pytest.mark.parametrize(
    ("path", "inputs"),
    [
        ("k8s/crawl/base", BASE),
        ("k8s/crawl/overlays/production", PRODUCTION),
        ("k8s/crawl/cronjob", dict(PRODUCTION, schedule="0 2 * * *")),
        (
            "k8s/crawl/overlays/production-irsa",
            dict(PRODUCTION, secret=None, service_account="s2s-crawl"),
        ),
        (
            "k8s/crawl/overlays/demo",
            dict(
                BASE,
                categories=["robes", "jeans", "doudounes"],
                rate=6,
                namespace="street2shop-demo",
                base_url="http://demo-site:8080",
                image_base_url="http://demo-site:8081",
                active_deadline_seconds=1800,
                store_access_mode="ReadWriteOnce",
            ),
        ),
    ],
)
def test_render_equals_kustomize(path: str, inputs: dict[str, Any]) -> None:
    assert normalised(render(**inputs)) == normalised(crawl_objects(path))


@needs_kubectl
def test_categories_configmap_hash_matches_kustomize(tmp_path: Path) -> None:
    text = "robes\njeans-&-co\n<vestes>\nété\n"
    (tmp_path / "categories.txt").write_text(text, encoding="utf-8")
    (tmp_path / "kustomization.yaml").write_text(
        "configMapGenerator:\n  - name: x-categories\n    files: [categories.txt]\n"
    )
    done = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, check=True
    )
    name = yaml.safe_load(done.stdout)["metadata"]["name"]
    expected = kustomize_hash("x-categories", {"categories.txt": text})
    assert name == f"x-categories-{expected}"


def test_a_new_category_list_gets_a_new_configmap_and_one_index_per_category() -> None:
    first = render(**dict(BASE, categories=["robes", "jeans"]))
    second = render(**dict(BASE, categories=["robes", "jeans", "polos"]))
    assert first[0]["metadata"]["name"] != second[0]["metadata"]["name"]
    job = second[-1]
    assert job["spec"]["completions"] == 3
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert {"name": "categories", "configMap": {"name": second[0]["metadata"]["name"]}} in volumes
    assert second[0]["data"]["categories.txt"] == "robes\njeans\npolos\n"


def test_a_local_store_is_a_claim_that_outlives_the_pods_and_s3_needs_none() -> None:
    local = render(**dict(BASE, store_access_mode="ReadWriteOnce"))
    assert [o["kind"] for o in local] == ["ConfigMap", "PersistentVolumeClaim", "Job"]
    claim, job = local[1], local[2]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = job["spec"]["template"]["spec"]
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data == {
        "name": "data",
        "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]},
    }
    assert {"name": "data", "mountPath": "/data"} in pod["containers"][0]["volumeMounts"]
    on_s3 = render(**PRODUCTION)
    assert [o["kind"] for o in on_s3] == ["ConfigMap", "Job"]
    volumes = on_s3[1]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "data", "emptyDir": {"sizeLimit": "10Gi"}} in volumes


def test_parallelism_is_capped_at_the_category_count_and_shares_the_rate() -> None:
    job = render(**dict(BASE, categories=["robes", "jeans"], parallelism=8, rate=5))[-1]
    assert job["spec"]["parallelism"] == 2
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env["S2S_PARALLELISM"], env["S2S_RATE"]) == ("2", "5")
    assert job["spec"]["maxFailedIndexes"] == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"categories": ["robes", "jeans", "robes"]}, "listed more than once: robes"),
        ({"rate": 0}, "rate: Input should be greater than 0"),
        ({"parallelism": 0}, "parallelism"),
        ({"name": "S2S_Crawl"}, "not a Kubernetes name"),
        ({"categories": []}, "categories"),
        ({"schedule": "every night"}, "not a cron schedule"),
        ({"store": "./data"}, "a local store must lie under /data/"),
    ],
)
def test_bad_inputs_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        k8s_render.make_config(**dict(BASE, **change))


def test_categories_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "cats.txt"
    path.write_text("# demo\nrobes\n\njeans  # comment\n")
    assert read_categories(path) == ["robes", "jeans"]
    path.write_text("robes\nmanteaux et vestes\n")
    with pytest.raises(UserError, match=r"cats.txt:2: not a category slug"):
        read_categories(path)
    path.write_text("# nothing\n")
    with pytest.raises(UserError, match="no category listed"):
        read_categories(path)
    with pytest.raises(UserError, match="cannot read categories file"):
        read_categories(tmp_path / "missing.txt")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "crawler", "k8s", "render", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_prints_yaml_for_kubectl_apply_and_fails_in_one_line() -> None:
    common = ["--site", "demo", "--image", "i:1", "--store", "s3://b/p", "--rate", "3"]
    done = run_cli(*common, "--categories", "robes,jeans", "--parallelism", "2", "--secret", "s3")
    assert done.returncode == 0, done.stderr
    config_map, job = yaml.safe_load_all(done.stdout)
    assert config_map["data"]["categories.txt"] == "robes\njeans\n"
    assert job["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [
        {"secretRef": {"name": "s3"}}
    ]
    done = run_cli(*common, "--categories", "robes,robes", "--parallelism", "2")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "s2s-crawl: error: categories: Value error, listed more than once: robes."
        " Received: categories=['robes', 'robes']"
    ]


def test_cli_refuses_an_unknown_site_or_category_before_printing_anything() -> None:
    common = ["--image", "i:1", "--store", "s3://b/p", "--rate", "3", "--parallelism", "2"]
    done = run_cli("--site", "nope", "--categories", "robes", *common)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "unknown site 'nope'" in done.stderr
    done = run_cli("--site", "demo", "--categories", "robes,robbes", *common)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "unknown category 'robbes'" in done.stderr
