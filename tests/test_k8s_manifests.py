"""Every kustomization builds, passes strict schema validation, and meets the policies."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from tests.k8s_fixtures import (
    K8S,
    KUSTOMIZATIONS,
    MIN_K8S_VERSION,
    TFJOB,
    env_of,
    expand,
    gpu_policy_violations,
    job_spec,
    kustomize,
    load_yaml,
    needs_kubectl,
    pod_policy_violations,
    pod_templates,
    secret_object_violations,
    secret_text_violations,
)

pytestmark = needs_kubectl
# The oldest release we support, and the newest schema kubernetes-validate ships.
VERSIONS = [MIN_K8S_VERSION, kubernetes_validate.latest_version()]


def all_objects() -> list[tuple[str, dict[str, Any]]]:
    return [(path, obj) for path in KUSTOMIZATIONS for obj in kustomize(path)]


def validate(obj: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(obj, version, strict=True)


def test_every_kustomization_is_found() -> None:
    assert {
        "k8s/crawl/base",
        "k8s/crawl/overlays/demo",
        "k8s/crawl/overlays/production",
        "k8s/crawl/overlays/production-irsa",
        "k8s/crawl/cronjob",
        "k8s/dataset",
        "k8s/train",
        "k8s/train-multinode",
        "k8s/release",
    } <= set(KUSTOMIZATIONS)


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
@pytest.mark.parametrize("version", VERSIONS)
def test_kustomization_builds_and_validates_strictly(path: str, version: str) -> None:
    objects = kustomize(path)
    assert objects, f"{path} builds nothing"
    for obj in objects:
        validate(obj, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_tfjob_pod_templates_validate_strictly(version: str) -> None:
    # No TFJob CRD schema offline: the ConfigMap is checked as is, and each replica's
    # pod template as a core/v1 PodTemplate (the part the operator passes to pods).
    config_map, tfjob = load_yaml(TFJOB)
    validate(config_map, version)
    assert (tfjob["apiVersion"], tfjob["kind"]) == ("kubeflow.org/v1", "TFJob")
    assert set(tfjob["spec"]["tfReplicaSpecs"]) == {"Worker"}
    for where, template in pod_templates(tfjob):
        wrapped = {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": where.replace("/", "-").lower()},
            "template": template,
        }
        validate(wrapped, version)
        names = [c["name"] for c in template["spec"]["containers"]]
        assert "tensorflow" in names, "the operator sets TF_CONFIG in the `tensorflow` container"


def test_strict_validation_rejects_a_misspelt_field() -> None:
    job = copy.deepcopy(next(o for o in kustomize("k8s/crawl/base") if o["kind"] == "Job"))
    job["spec"]["podReplacementPolicyy"] = job["spec"].pop("podReplacementPolicy")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(job, MIN_K8S_VERSION)


def test_every_pod_is_hardened() -> None:
    found = []
    objects = all_objects() + [("tfjob", o) for o in load_yaml(TFJOB)]
    for _, obj in objects:
        for where, template in pod_templates(obj):
            found += pod_policy_violations(where, template)
    assert found == []


def test_every_job_sets_pod_replacement_policy_and_a_deadline() -> None:
    jobs = [(path, obj, job_spec(obj)) for path, obj in all_objects() if job_spec(obj)]
    assert len(jobs) >= 7
    for path, obj, spec in jobs:
        assert spec is not None
        where = f"{path}: {obj['kind']}/{obj['metadata']['name']}"
        assert spec.get("podReplacementPolicy") == "Failed", where
        assert spec.get("activeDeadlineSeconds", 0) > 0, where
        assert spec["template"]["spec"]["restartPolicy"] == "Never", where


def crawl_jobs() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for path in KUSTOMIZATIONS:
        objects = kustomize(path)
        config_maps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
        for obj in objects:
            spec = job_spec(obj)
            if spec and obj["metadata"]["labels"]["app.kubernetes.io/component"] == "crawl":
                volumes = spec["template"]["spec"]["volumes"]
                name = next(v["configMap"]["name"] for v in volumes if v["name"] == "categories")
                found.append((path, spec, config_maps[name]))
    return found


def test_crawl_jobs_split_one_budget_over_one_index_per_category() -> None:
    jobs = crawl_jobs()
    assert {p for p, _, _ in jobs} == {p for p in KUSTOMIZATIONS if p.startswith("k8s/crawl")}
    for path, spec, config_map in jobs:
        categories = config_map["data"]["categories.txt"].splitlines()
        assert config_map.get("immutable") is True, path
        assert len(set(categories)) == len(categories), f"{path}: a category listed twice"
        assert spec["completionMode"] == "Indexed", path
        assert spec["completions"] == len(categories), f"{path}: completions != categories"
        assert 1 <= spec["parallelism"] <= spec["completions"], path
        assert 1 <= spec["maxFailedIndexes"] <= spec["completions"], path
        assert spec["backoffLimitPerIndex"] >= 1, path
        pod = spec["template"]["spec"]
        # Long enough to flush the last feed batch after SIGTERM.
        assert pod["terminationGracePeriodSeconds"] >= 60, path
        (container,) = pod["containers"]
        env = env_of(container)
        assert int(env["S2S_PARALLELISM"]) == spec["parallelism"], f"{path}: rate share drift"
        assert float(env["S2S_RATE"]) > 0, path
        assert spec["template"]["metadata"]["labels"]["street2shop/site"] == env["S2S_SITE"]
        args = [expand(a, env) for a in container["args"]]
        assert "$(" not in " ".join(args), f"{path}: unexpanded variable in {args}"
        assert args[args.index("--categories-file") + 1] == "/etc/s2s/categories.txt"
        rules = {r["action"] for r in spec["podFailurePolicy"]["rules"]}
        assert {"Ignore", "FailIndex"} <= rules, path


def test_production_crawls_take_credentials_from_references_only() -> None:
    for path in ("k8s/crawl/overlays/production", "k8s/crawl/cronjob"):
        job = next(o for o in kustomize(path) if o["kind"] in ("Job", "CronJob"))
        ((_, template),) = pod_templates(job)
        (container,) = template["spec"]["containers"]
        assert env_of(container)["S2S_STORE"].startswith("s3://"), path
        assert container["envFrom"] == [{"secretRef": {"name": "s2s-s3-credentials"}}], path
    objects = kustomize("k8s/crawl/overlays/production-irsa")
    account = next(o for o in objects if o["kind"] == "ServiceAccount")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith(
        "arn:aws:iam::"
    )
    job = next(o for o in objects if o["kind"] == "Job")
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    assert "envFrom" not in job["spec"]["template"]["spec"]["containers"][0]


def test_demo_overlay_points_the_crawl_at_the_in_cluster_demo_site() -> None:
    objects = kustomize("k8s/crawl/overlays/demo")
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "Deployment", "Service", "ConfigMap", "Job"} <= kinds
    service = next(o for o in objects if o["kind"] == "Service")
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    job = next(o for o in objects if o["kind"] == "Job")
    env = env_of(job["spec"]["template"]["spec"]["containers"][0])
    name = service["metadata"]["name"]
    assert env["S2S_BASE_URL"] == f"http://{name}:{ports['pages']}"
    assert env["S2S_IMAGE_BASE_URL"] == f"http://{name}:{ports['images']}"
    assert env["S2S_STORE"].startswith("/data/")  # the emptyDir mounted at /data
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    site_args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert site_args[0] == "demo-site"
    assert site_args[site_args.index("--base-url") + 1] == env["S2S_BASE_URL"]
    assert site_args[site_args.index("--image-base-url") + 1] == env["S2S_IMAGE_BASE_URL"]


def test_training_pods_get_gpus_on_gpu_nodes() -> None:
    templates = [
        (where, template)
        for path in ("k8s/train", "k8s/train-multinode")
        for obj in kustomize(path)
        for where, template in pod_templates(obj)
    ]
    templates += [t for obj in load_yaml(TFJOB) for t in pod_templates(obj)]
    assert len(templates) == 3
    found = [v for where, template in templates for v in gpu_policy_violations(where, template)]
    assert found == []


def test_multinode_job_and_headless_service_agree() -> None:
    objects = kustomize("k8s/train-multinode")
    service = next(o for o in objects if o["kind"] == "Service")
    job = next(o for o in objects if o["kind"] == "Job")
    spec = job["spec"]
    pod = spec["template"]["spec"]
    env = env_of(pod["containers"][0])
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert pod["subdomain"] == service["metadata"]["name"] == env["S2S_TF_SERVICE"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == int(env["S2S_WORKERS"])
    labels = spec["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items())
    assert int(env["S2S_TF_PORT"]) == service["spec"]["ports"][0]["port"]
    assert pod["containers"][0]["command"][1:3] == ["-m", "training.cluster"]


def test_no_literal_secrets_anywhere() -> None:
    found = []
    files = [p for p in K8S.rglob("*") if p.is_file()]
    files += [K8S.parent / "Dockerfile", K8S.parent / ".dockerignore"]
    for path in files:
        found += secret_text_violations(path.read_text(encoding="utf-8"), str(path))
    for _, obj in all_objects() + [("tfjob", o) for o in load_yaml(TFJOB)]:
        found += secret_object_violations(obj)
    assert found == []


def test_policy_checks_catch_a_bad_pod() -> None:
    bad = {
        "kind": "Job",
        "metadata": {"name": "bad"},
        "spec": {
            "template": {
                "spec": {
                    "securityContext": {"runAsUser": 0},
                    "containers": [
                        {
                            "name": "c",
                            "env": [
                                {"name": "AWS_SECRET_ACCESS_KEY", "value": "x"},
                                {"name": "HOME", "value": "/home/s2s"},
                            ],
                            "resources": {"requests": {"cpu": "1"}},
                        }
                    ],
                }
            }
        },
    }
    ((where, template),) = pod_templates(bad)
    pod = pod_policy_violations(where, template)
    assert any("runAsNonRoot" in v for v in pod)
    assert any("runs as root" in v for v in pod)
    assert any("no memory limit" in v for v in pod)
    assert any("root filesystem is writable" in v for v in pod)
    assert any("HOME=/home/s2s" in v for v in pod)
    assert len(gpu_policy_violations(where, template)) == 5
    assert secret_object_violations(bad) == ["Job/bad/c: literal value for AWS_SECRET_ACCESS_KEY"]
    leaked = (
        "id: AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    assert len(secret_text_violations(leaked, "x")) == 2
