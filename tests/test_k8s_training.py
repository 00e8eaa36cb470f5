"""TF_CONFIG of a multi-node training pod, built from its Indexed Job index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from dataset.core.errors import UserError
from tests.k8s_fixtures import ROOT, env_of, expand, kustomize, needs_kubectl
from training.cluster import tf_config, tf_config_from_env


def test_tf_config_lists_every_worker_and_its_own_index() -> None:
    for index in range(3):
        config = tf_config(index, 3, service="s2s-train-mw", namespace="ml", port=2222)
        assert config == {
            "cluster": {"worker": [f"s2s-train-mw-{i}.s2s-train-mw.ml.svc:2222" for i in range(3)]},
            "task": {"type": "worker", "index": index},
        }
    named = tf_config(0, 1, service="svc", namespace="ns", job="run-7")
    assert named["cluster"]["worker"] == ["run-7-0.svc.ns.svc:12345"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"index": 2, "workers": 2}, r"worker index must be in \[0, 2\). Received: index=2"),
        ({"index": -1, "workers": 2}, "Received: index=-1"),
        ({"index": 0, "workers": 0}, "at least one worker"),
        ({"index": 0, "workers": 1, "port": 70000}, "port must be in"),
        ({"index": 0, "workers": 1, "service": "Bad_Name"}, "service must be a DNS label"),
    ],
)
def test_bad_cluster_inputs_fail_clearly(kwargs: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"service": "svc", "namespace": "ns"} | kwargs
    with pytest.raises(UserError, match=message):
        tf_config(**values)


def test_from_env_names_the_missing_variable() -> None:
    with pytest.raises(UserError, match="S2S_WORKERS is not set"):
        tf_config_from_env({"JOB_COMPLETION_INDEX": "0", "S2S_TF_SERVICE": "svc"})
    with pytest.raises(UserError, match="JOB_COMPLETION_INDEX must be an integer"):
        tf_config_from_env({"JOB_COMPLETION_INDEX": "x", "S2S_WORKERS": "2"})


def pod_env(index: int) -> dict[str, str]:
    """The environment Kubernetes gives worker ``index`` of k8s/train-multinode."""
    objects = kustomize("k8s/train-multinode")
    job = next(o for o in objects if o["kind"] == "Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    downward = {
        "metadata.namespace": job["metadata"]["namespace"],
        "metadata.labels['batch.kubernetes.io/job-name']": job["metadata"]["name"],
    }
    for var in container["env"]:
        if "valueFrom" in var:
            env[var["name"]] = downward[var["valueFrom"]["fieldRef"]["fieldPath"]]
    env["JOB_COMPLETION_INDEX"] = str(index)
    return {k: expand(v, env) for k, v in env.items()}


@needs_kubectl
def test_each_pod_of_the_manifest_addresses_the_same_cluster() -> None:
    objects = kustomize("k8s/train-multinode")
    job = next(o for o in objects if o["kind"] == "Job")
    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    subdomain = job["spec"]["template"]["spec"]["subdomain"]
    workers = job["spec"]["completions"]
    configs = [tf_config_from_env(pod_env(i)) for i in range(workers)]
    # The pod hostnames the Indexed Job creates, under the headless Service's subdomain.
    expected = [f"{name}-{i}.{subdomain}.{namespace}.svc:12345" for i in range(workers)]
    for index, config in enumerate(configs):
        assert config["cluster"]["worker"] == expected
        assert config["task"] == {"type": "worker", "index": index}


@needs_kubectl
def test_pod_command_execs_the_training_command_with_tf_config_set() -> None:
    env = dict(os.environ, **pod_env(1), PYTHONPATH=str(ROOT))
    probe = "import os; print(os.environ['TF_CONFIG'])"
    done = subprocess.run(
        [sys.executable, "-m", "training.cluster", "--", sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == tf_config_from_env(pod_env(1))


@needs_kubectl
def test_tensorflow_reads_the_tf_config_of_each_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    # In-process: the suite imports TensorFlow once for the training tests anyway.
    tf = pytest.importorskip("tensorflow")
    for index in range(2):
        config = tf_config_from_env(pod_env(index))
        monkeypatch.setenv("TF_CONFIG", json.dumps(config))
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        assert resolver.task_type == "worker" and resolver.task_id == index
        assert resolver.cluster_spec().as_dict() == config["cluster"]
        assert resolver.cluster_spec().num_tasks("worker") == 2
