"""Run a kustomized Job's container as a local process, with the environment its pod gets.

What the kubelet would do, done here: ``env`` in order with ``$(VAR)`` expanded against
the variables before it, ``fieldRef`` values filled from the pod's labels, ``envFrom``
Secrets taken from this process's environment (the test's S3 credentials), every volume
mount a local folder (ConfigMap files written into theirs), ``envFrom`` ConfigMaps read
from the kustomized objects, ``JOB_COMPLETION_INDEX`` set for an Indexed Job. An init
container is run by naming it. Paths under a mount are rewritten to the local folder in the
arguments, the environment and the mounted config files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.k8s_fixtures import ROOT, expand

MODULE_OF_SCRIPT = {"s2s-crawl": "crawler", "s2s-dataset": "dataset", "s2s-train": "training"}


class Pod:
    def __init__(
        self,
        objects: list[dict[str, Any]],
        job: str,
        folder: Path,
        index: int | None = None,
        extra_env: dict[str, str] | None = None,
        container: str | None = None,
    ) -> None:
        self.job = next(o for o in objects if o["kind"] == "Job" and o["metadata"]["name"] == job)
        spec = self.job["spec"]["template"]["spec"]
        if container is None:
            (self.container,) = spec["containers"]
        else:
            every = spec.get("initContainers", []) + spec["containers"]
            self.container = next(c for c in every if c["name"] == container)
        self.folder = folder
        self.mounts = {
            m["mountPath"]: folder / m["mountPath"].strip("/").replace("/", "_")
            for m in self.container.get("volumeMounts", [])
        }
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        config_maps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
        for mount in self.container.get("volumeMounts", []):
            local = self.mounts[mount["mountPath"]]
            local.mkdir(parents=True, exist_ok=True)
            source = volumes[mount["name"]].get("configMap")
            if source is not None:
                for name, text in config_maps[source["name"]]["data"].items():
                    (local / name).write_text(self.localise(text))
        labels = {"batch.kubernetes.io/job-name": job}
        env: dict[str, str] = {}
        for source in self.container.get("envFrom", []):  # Secrets: the test's own env
            if "configMapRef" in source:
                env.update(config_maps[source["configMapRef"]["name"]]["data"])
        for var in self.container.get("env", []):
            if "value" in var:
                env[var["name"]] = expand(var["value"], env)
            else:
                path = var["valueFrom"]["fieldRef"]["fieldPath"]
                label = re.fullmatch(r"metadata\.labels\['(.+)'\]", path)
                assert label is not None, f"{job}: fieldRef {path} is not simulated"
                env[var["name"]] = labels[label[1]]
        if index is not None:
            env["JOB_COMPLETION_INDEX"] = str(index)  # set by the Job controller
        self.pod_env = {**env, **(extra_env or {})}  # as the pod sees it
        self.env = {k: self.localise(v) for k, v in self.pod_env.items()}  # as run here

    def localise(self, text: str) -> str:
        """Paths under a mount made the local folder standing for it (one pass: the local
        folders may themselves lie under a path that is a mount, such as /tmp)."""
        mounts = sorted(self.mounts, key=len, reverse=True)
        pattern = "|".join(re.escape(m) for m in mounts)
        return re.sub(
            rf"(?<![\w/.])({pattern})(?=/|$|[^\w.-])", lambda m: str(self.mounts[m[1]]), text
        )

    def argv(self, *extra: str) -> list[str]:
        script, *words = self.container["command"] + self.container.get("args", [])
        words = [self.localise(expand(w, self.pod_env)) for w in words]
        return [sys.executable, "-m", MODULE_OF_SCRIPT[script], *words, *extra]

    def start(self, *extra: str) -> subprocess.Popen[str]:
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        return subprocess.Popen(
            self.argv(*extra), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def run(self, *extra: str, timeout: float = 300) -> tuple[int, str, str]:
        process = self.start(*extra)
        out, err = process.communicate(timeout=timeout)
        return process.returncode, out, err
