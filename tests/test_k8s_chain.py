"""The production chain on S3, Job after Job, as the kustomized manifests run it.

Each Job's container command, arguments and environment come from ``kubectl kustomize``
of its production kustomization and run here as local processes (tests/k8s_pods.py)
against moto's S3 server and the demo site: every index of the crawl Job, the dataset
build Job, the training Job, then the release Jobs on its run folder (evaluate, export,
index). It passes only if each step finds what the one before it wrote: one bucket, one
layout (docs/operations.md "Store layout").

What the test adds, and why: the demo site's URLs (the real site is on the internet) and a
rate ten times the Job's (the site is local; each pod's share of the Job's rate is
tested in tests/test_k8s_entrypoints.py), the S3 endpoint and credentials (the Secret), the
catalogue export (uploaded by the retailer), and a tiny model (``--backbone tiny --weights
none``: no GPU, no internet).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from tests.demo_site_fixtures import RunningDemoSite, demo_site_factory  # noqa: F401
from tests.k8s_fixtures import ROOT, kustomize, needs_kubectl
from tests.k8s_pods import Pod

pytestmark = [needs_kubectl, pytest.mark.slow]
BUCKET = "street2shop"  # the manifests' one store root: s3://street2shop
TINY_MODEL = ["--backbone", "tiny", "--weights", "none", "--epochs", "1", "--batch-size", "8",
              "--image-size", "32"]  # fmt: skip


TINY_LOCALISER = ["--image-size", "32", "--composites", "32", "--val-composites", "8",
                  "--epochs", "1", "--batch-size", "16", "--max-cutouts", "4",
                  "--max-scenes", "4"]  # fmt: skip


def _keys(prefix: str) -> list[str]:
    client = boto3.client("s3")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def test_crawl_dataset_train_evaluate_export_index_hand_over_through_one_bucket(
    s3_env: str,
    demo_site_factory: Callable[..., RunningDemoSite],  # noqa: F811
    tmp_path: Path,
) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    site = demo_site_factory(items_per_category=3)

    # The house catalogue export, uploaded by the retailer where the dataset Job reads it
    # (meanwhile the crawl runs: the two are independent).
    build = Pod(kustomize("k8s/dataset"), "s2s-dataset-build", tmp_path / "dataset")
    store = build.env["S2S_STORE"]
    assert store == f"s3://{BUCKET}"
    upload_log = tmp_path / "upload.log"
    with upload_log.open("w") as log:  # a file, not a pipe: nobody reads it meanwhile
        upload = subprocess.Popen(
            [sys.executable, "-m", "dataset", "demo-catalogue", "--store", store,
             "--items-per-category", "3", "--size", "64", "--shopper-photos", "0"],
            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=log, stderr=log,
        )  # fmt: skip

    # 1. Every index of the production crawl Job, `parallelism` pods at a time.
    crawl = kustomize("k8s/crawl/overlays/production")
    job = next(o for o in crawl if o["kind"] == "Job")
    completions, parallelism = job["spec"]["completions"], job["spec"]["parallelism"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    job_rate = float(next(v["value"] for v in container["env"] if v["name"] == "S2S_RATE"))
    local = {"S2S_BASE_URL": site.base_url, "S2S_IMAGE_BASE_URL": site.image_base_url,
             "S2S_RATE": str(10 * job_rate)}  # fmt: skip
    pods = [Pod(crawl, "s2s-crawl", tmp_path / f"crawl-{i}", i, local) for i in range(completions)]
    assert {pod.env["S2S_STORE"] for pod in pods} == {store}
    for wave in range(0, completions, parallelism):
        running = [pod.start() for pod in pods[wave : wave + parallelism]]
        for i, process in enumerate(running, start=wave):
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, f"crawl index {i}: {err[-2000:]}"
            (run,) = json.loads(out)["runs"]
            assert run["status"] == "finished" and run["items"] >= 1, run
    categories = {key.split("/")[2] for key in _keys("raw/demo/") if "/items/" in key}
    assert len(categories) == completions
    assert upload.wait(timeout=120) == 0, upload_log.read_text()[-2000:]

    # 2. The dataset build Job: its init container trains the garment localiser (tiny) on
    # catalogue/ and raw/ photos; the build reads them and writes datasets/<name>/<version>/.
    localiser = Pod(kustomize("k8s/dataset"), "s2s-dataset-build", tmp_path / "localiser",
                    container="localiser")  # fmt: skip
    code, out, err = localiser.run(*TINY_LOCALISER, timeout=300)
    assert code == 0, err[-3000:]
    assert _keys("models/localiser/street2shop/localiser.keras")
    code, out, err = build.run(timeout=300)
    assert code == 0, err[-3000:]
    train = Pod(kustomize("k8s/train"), "s2s-train", tmp_path / "train")
    dataset_uri = train.env["S2S_DATASET"]
    assert f"{dataset_uri}/shards/index.json".removeprefix(f"s3://{BUCKET}/") in _keys("datasets/")

    # 3. The training Job (a tiny model).
    code, out, err = train.run(*TINY_MODEL, timeout=300)
    assert code == 0, err[-3000:]
    model = train.env["S2S_MODEL_OUT"]
    assert model == f"s3://{BUCKET}/models/encoders/s2s-train"
    assert json.loads(out)["dataset"]["uri"] == dataset_uri
    # 4. The release Jobs on that run: evaluate; export (init container), then index.
    release = kustomize("k8s/release")
    followers = [
        Pod(release, "s2s-evaluate", tmp_path / "evaluate"),
        Pod(release, "s2s-index", tmp_path / "export", container="export"),
        Pod(release, "s2s-index", tmp_path / "index"),
    ]
    assert {pod.env["S2S_MODEL"] for pod in followers} == {model}
    assert {pod.env["S2S_DATASET"] for pod in followers} == {dataset_uri}
    for pod in followers:
        code, out, err = pod.run(timeout=300)
        assert code == 0, f"{pod.container['name']}: {err[-3000:]}"
    for prefix in ("models/encoders/s2s-train/eval/", "models/encoders/s2s-train/export/",
                   "indexes/s2s-train/"):  # fmt: skip
        assert _keys(prefix), prefix
