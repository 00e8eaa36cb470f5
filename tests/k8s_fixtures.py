"""Helpers for the k8s tests: build kustomizations, walk pod specs, check policies.

The policy checks return a list of violations (empty when the object complies), so a
test can assert both that every manifest passes and that a bad one is caught.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
MIN_K8S_VERSION = "1.29.0"  # podReplacementPolicy and backoffLimitPerIndex on by default
KUSTOMIZATIONS = sorted(str(p.parent.relative_to(ROOT)) for p in K8S.rglob("kustomization.yaml"))
TFJOB = K8S / "train-multinode" / "tfjob.yaml"

needs_kubectl = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl (for `kubectl kustomize`) is not installed"
)


@functools.cache
def _build(path: str) -> str:
    done = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize {path} failed: {done.stderr}"
    return done.stdout


def kustomize(path: str | Path) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize`` builds from ``path`` (cached: the build is pure)."""
    return [d for d in yaml.safe_load_all(_build(str(path))) if d]


def load_yaml(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def pod_templates(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, pod template)`` for every pod template inside ``obj``."""
    kind, spec = obj.get("kind"), obj.get("spec", {})
    if kind in ("Job", "Deployment", "StatefulSet", "DaemonSet"):
        yield f"{kind}/{obj['metadata']['name']}", spec["template"]
    elif kind == "CronJob":
        yield f"CronJob/{obj['metadata']['name']}", spec["jobTemplate"]["spec"]["template"]
    elif kind == "TFJob":
        for role, replica in spec["tfReplicaSpecs"].items():
            yield f"TFJob/{obj['metadata']['name']}/{role}", replica["template"]


def job_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] == "Job":
        return obj["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]
    return None


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's ``$(VAR)`` expansion (unknown variables stay as written)."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), text)


_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|ACCESS_KEY|API_KEY|CREDENTIAL|PRIVATE")
_SECRET_TEXT = [
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{16,}", re.IGNORECASE),
]


def secret_text_violations(text: str, where: str) -> list[str]:
    return [
        f"{where}: looks like a credential: {m[0][:12]}..."
        for p in _SECRET_TEXT
        for m in p.finditer(text)
    ]


def secret_object_violations(obj: dict[str, Any]) -> list[str]:
    found = []
    name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData")):
        found.append(f"{name}: a Secret with values belongs in the cluster, not in the repo")
    for where, template in pod_templates(obj):
        for container in template["spec"].get("containers", []):
            for env in container.get("env", []):
                if _SECRET_NAME.search(env["name"]) and "value" in env:
                    found.append(f"{where}/{container['name']}: literal value for {env['name']}")
    return found


def pod_policy_violations(where: str, template: dict[str, Any]) -> list[str]:
    """Hardening every pod must have (the Pod Security "restricted" profile and more)."""
    found = []
    spec = template["spec"]
    pod_sc = spec.get("securityContext", {})
    if pod_sc.get("runAsNonRoot") is not True:
        found.append(f"{where}: pod securityContext.runAsNonRoot is not true")
    if pod_sc.get("runAsUser", 1) == 0:
        found.append(f"{where}: runs as root")
    if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        found.append(f"{where}: seccompProfile is not RuntimeDefault")
    mounts_by_volume = {v["name"]: v for v in spec.get("volumes", [])}
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        name = f"{where}/{container['name']}"
        sc = container.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        if sc.get("readOnlyRootFilesystem") is not True:
            found.append(f"{name}: root filesystem is writable")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            found.append(f"{name}: capabilities are not dropped (drop: [ALL])")
        if sc.get("privileged"):
            found.append(f"{name}: privileged")
        if sc.get("runAsUser") == 0:
            found.append(f"{name}: runs as root")
        resources = container.get("resources", {})
        for key in ("cpu", "memory"):
            if key not in resources.get("requests", {}):
                found.append(f"{name}: no {key} request")
            if key not in resources.get("limits", {}):
                found.append(f"{name}: no {key} limit")
        writable = {
            m["mountPath"]
            for m in container.get("volumeMounts", [])
            if "emptyDir" in mounts_by_volume.get(m["name"], {}) and not m.get("readOnly")
        }
        if "/tmp" not in writable:
            found.append(f"{name}: no writable /tmp (emptyDir) under a read-only root")
        for var in ("HOME", "KERAS_HOME", "TMPDIR", "MPLCONFIGDIR"):
            value = env_of(container).get(var)
            if value and not any(value == p or value.startswith(p + "/") for p in writable):
                found.append(f"{name}: {var}={value} is not on a writable volume")
    return found


def gpu_policy_violations(where: str, template: dict[str, Any]) -> list[str]:
    """A training pod: a GPU limit, scheduled on GPU nodes, /dev/shm in memory."""
    found = []
    spec = template["spec"]
    if not any(
        int(c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu", 0)) >= 1
        for c in spec["containers"]
    ):
        found.append(f"{where}: no nvidia.com/gpu limit")
    tolerated = any(
        t.get("key") == "nvidia.com/gpu"
        and t.get("effect") == "NoSchedule"
        and t.get("operator") in ("Exists", "Equal")
        for t in spec.get("tolerations", [])
    )
    if not tolerated:
        found.append(f"{where}: no toleration for nvidia.com/gpu:NoSchedule")
    if not any(k.startswith("nvidia.com/") for k in spec.get("nodeSelector", {})):
        found.append(f"{where}: no GPU nodeSelector")
    shm_volumes = {
        v["name"]
        for v in spec.get("volumes", [])
        if v.get("emptyDir", {}).get("medium") == "Memory"
    }
    for container in spec["containers"]:
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        if mounts.get("/dev/shm") not in shm_volumes:
            found.append(f"{where}/{container['name']}: /dev/shm is not a Memory emptyDir")
        if "KERAS_HOME" not in env_of(container):
            found.append(f"{where}/{container['name']}: KERAS_HOME is not set")
    return found
