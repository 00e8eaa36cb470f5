"""``TF_CONFIG`` for multi-node training from an Indexed Job's completion index.

An Indexed Job with a headless Service gives pod ``i`` the stable DNS name
``<job>-<i>.<service>.<namespace>.svc``. Every pod can therefore list all workers
from its own index alone, which is what ``MultiWorkerMirroredStrategy`` reads from
``TF_CONFIG``. The pod command wraps the training command::

    python -m training.cluster -- s2s-train fit --dataset ... --out ...

which sets ``TF_CONFIG`` from the environment (``JOB_COMPLETION_INDEX`` set by
Kubernetes; ``S2S_WORKERS``, ``S2S_TF_SERVICE``, ``S2S_TF_PORT``, ``S2S_JOB_NAME`` and
``POD_NAMESPACE`` set in k8s/train-multinode) and then replaces itself with the
command. ``python -m training.cluster --print`` only prints it.

>>> tf_config(1, 2, service="s2s-train-mw", namespace="ml", port=12345)["task"]
{'type': 'worker', 'index': 1}
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from dataset.core.errors import UserError

DEFAULT_PORT = 12345
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def worker_address(
    index: int, service: str, namespace: str, port: int, job: str | None = None
) -> str:
    """The address of worker ``index``: the pod's hostname under the headless Service."""
    return f"{job or service}-{index}.{service}.{namespace}.svc:{port}"


def tf_config(
    index: int,
    workers: int,
    service: str,
    namespace: str,
    port: int = DEFAULT_PORT,
    job: str | None = None,
) -> dict[str, Any]:
    """The ``TF_CONFIG`` of worker ``index`` among ``workers``.

    ``job`` is the Indexed Job's name (pod hostnames are ``<job>-<index>``); it defaults
    to ``service``, the headless Service that k8s/train-multinode names like the Job.
    Worker 0 doubles as the chief (it writes checkpoints and the exported model).
    """
    if workers < 1:
        raise UserError(f"the cluster needs at least one worker. Received: workers={workers}")
    if not 0 <= index < workers:
        raise UserError(f"worker index must be in [0, {workers}). Received: index={index}")
    if not 0 < port < 65536:
        raise UserError(f"port must be in 1..65535. Received: port={port}")
    for key, value in (("service", service), ("namespace", namespace), ("job", job)):
        if value is not None and not _DNS_LABEL.match(value):
            raise UserError(f"{key} must be a DNS label. Received: {key}={value!r}")
    return {
        "cluster": {
            "worker": [worker_address(i, service, namespace, port, job) for i in range(workers)]
        },
        "task": {"type": "worker", "index": index},
    }


def tf_config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """:func:`tf_config` from a pod's environment; a missing variable is named."""
    env = os.environ if environ is None else environ

    def need(name: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            raise UserError(f"environment variable {name} is not set (see k8s/train-multinode)")
        return value

    def integer(name: str, default: int | None = None) -> int:
        raw = env.get(name, "").strip()
        if not raw and default is not None:
            return default
        try:
            return int(need(name))
        except ValueError:
            raise UserError(f"{name} must be an integer. Received: {name}={raw!r}") from None

    return tf_config(
        index=integer("JOB_COMPLETION_INDEX"),
        workers=integer("S2S_WORKERS"),
        service=need("S2S_TF_SERVICE"),
        namespace=env.get("POD_NAMESPACE", "").strip() or "default",
        port=integer("S2S_TF_PORT", DEFAULT_PORT),
        job=env.get("S2S_JOB_NAME", "").strip() or None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--print", action="store_true", help="print TF_CONFIG and exit")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        config = tf_config_from_env()
    except UserError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    encoded = json.dumps(config, separators=(",", ":"))
    if args.print or not command:
        print(encoded)
        return 0
    os.environ["TF_CONFIG"] = encoded
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"{parser.prog}: error: cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached: execvp replaced the process


if __name__ == "__main__":
    sys.exit(main())
