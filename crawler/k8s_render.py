"""Build the per-category crawl Job (or CronJob) with the ``kubernetes`` client's models.

This module and ``k8s/crawl/base`` describe the same objects: rendered with the base's
inputs, :func:`render_objects` returns exactly what ``kubectl kustomize k8s/crawl/base``
builds (``tests/test_k8s_render.py`` holds them together). The Job is an Indexed Job, one
index per category: the pod with ``JOB_COMPLETION_INDEX=i`` crawls line ``i`` of the
categories file with ``1/parallelism`` of the site's request budget.

A local store (a path, not ``s3://``) lives on a PersistentVolumeClaim the render adds,
mounted at ``/data``, so what the pods store outlives them and a retried category resumes
from its ledger; an S3 store gets an emptyDir there instead, as spill space only.

The categories ConfigMap is immutable and named with the same content hash kustomize's
``configMapGenerator`` appends, so changing the list makes a new ConfigMap rather than
editing the one a running Job reads (its index -> category mapping must never move).

>>> objects = render_objects(CrawlJobConfig(site="demo", categories=["robes", "jeans"],
...     image="street2shop/crawl:0.1.0", store="s3://bucket/crawl", rate=2, parallelism=2))
>>> [o["kind"] for o in objects], objects[1]["spec"]["completions"]
(['ConfigMap', 'Job'], 2)
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from crawler.categories import CATEGORY_SLUG
from crawler.kustomize_compat import kustomize_hash, to_yaml
from dataset.core.errors import EXIT_BAD_INPUT, UserError

__all__ = [
    "CrawlJobConfig",
    "make_config",
    "render_objects",
    "to_yaml",
]

CATEGORIES_DIR = "/etc/s2s"
DATA_DIR = "/data"  # the local store (on the claim) or spill space (S3 stores)
STORE_SIZE = "20Gi"  # what a local store's claim asks for
CATEGORIES_FILE = "categories.txt"
CONTAINER = "crawl"
USER_ID = 10001
# A pod gets this long between SIGTERM and SIGKILL: enough for the crawler to finish the
# requests in flight and upload its last feed batch and run stats.
TERMINATION_GRACE_SECONDS = 120
JOB_DEADLINE_SECONDS = 7 * 24 * 3600  # a full crawl of a big site took the retailer a week
CRON_DEADLINE_SECONDS = 23 * 3600  # a daily recrawl must end before the next one is due
FINISHED_TTL_SECONDS = 3 * 24 * 3600  # keep a finished Job (and its pods' logs) 3 days

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class CrawlJobConfig(BaseModel):
    """Everything that varies between two crawl Jobs; the rest is fixed policy below."""

    model_config = {"extra": "forbid"}

    site: str = Field(min_length=1)
    categories: list[str] = Field(min_length=1)
    image: str = Field(min_length=1)
    store: str = Field(min_length=1)
    rate: float = Field(gt=0, description="requests/s per site host, shared by all pods")
    parallelism: int = Field(ge=1, description="pods at once (capped at the category count)")
    name: str = Field(default="s2s-crawl", max_length=52)  # CronJob names: 52 chars at most
    namespace: str | None = None
    schedule: str | None = None
    secret: str | None = None
    service_account: str | None = None
    base_url: str | None = None
    image_base_url: str | None = None
    backoff_limit_per_index: int = Field(default=3, ge=0)
    active_deadline_seconds: int | None = Field(default=None, gt=0)
    store_access_mode: Literal["ReadWriteMany", "ReadWriteOnce"] = Field(
        default="ReadWriteMany",
        description="a local store's claim: pods on several nodes need ReadWriteMany",
    )

    @property
    def local_store(self) -> bool:
        return not self.store.startswith("s3://")

    @property
    def claim_name(self) -> str:
        return f"{self.name}-store"

    @field_validator("categories")
    @classmethod
    def _unique_slugs(cls, categories: list[str]) -> list[str]:
        for slug in categories:
            if not CATEGORY_SLUG.match(slug):
                raise ValueError(f"not a category slug: {slug!r}")
        duplicates = sorted({c for c in categories if categories.count(c) > 1})
        if duplicates:
            # Two indexes on one category would crawl it twice at twice the rate.
            raise ValueError(f"listed more than once: {', '.join(duplicates)}")
        return categories

    @field_validator("name", "namespace", "secret", "service_account")
    @classmethod
    def _dns_label(cls, value: str | None) -> str | None:
        if value is not None and not _DNS_LABEL.match(value):
            raise ValueError(f"not a Kubernetes name (lower-case DNS label): {value!r}")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, schedule: str | None) -> str | None:
        if schedule is not None and not (len(schedule.split()) == 5 or schedule.startswith("@")):
            raise ValueError(f"not a cron schedule (5 fields, or @daily ...): {schedule!r}")
        return schedule

    @field_validator("store")
    @classmethod
    def _store_on_the_volume(cls, store: str) -> str:
        if not store.startswith("s3://") and not store.startswith(DATA_DIR + "/"):
            # Anywhere else the pods would write to their own read-only or scratch disk.
            raise ValueError(f"a local store must lie under {DATA_DIR}/ (the claim's mount)")
        return store

    @model_validator(mode="after")
    def _cap_parallelism(self) -> CrawlJobConfig:
        # More pods than categories would idle, and each would still take only 1/P.
        self.parallelism = min(self.parallelism, len(self.categories))
        return self

    @property
    def max_failed_indexes(self) -> int:
        """Past half the categories failing the cause is systemic (blocked, store down): stop."""
        return max(1, len(self.categories) // 2)


def make_config(**values: Any) -> CrawlJobConfig:
    """Validate ``values`` into a config; a bad value ends as one line naming the field."""
    try:
        return CrawlJobConfig(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "config"
        raise UserError(
            f"{field}: {first['msg']}. Received: {field}={values.get(field.split('.')[0])!r}"
        ) from exc


def labels(config: CrawlJobConfig) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "street2shop",
        "app.kubernetes.io/component": "crawl",
        "street2shop/site": config.site,
    }


def render_objects(config: CrawlJobConfig) -> list[dict[str, Any]]:
    """The categories ConfigMap, a local store's claim, and the Job (a CronJob when
    ``config.schedule`` is set)."""
    from kubernetes import client

    data = {CATEGORIES_FILE: "".join(f"{c}\n" for c in config.categories)}
    base_name = f"{config.name}-categories"
    config_map = client.V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=client.V1ObjectMeta(
            name=f"{base_name}-{kustomize_hash(base_name, data)}",
            namespace=config.namespace,
            labels=labels(config),
        ),
        data=data,
        immutable=True,
    )
    job_spec = _job_spec(config, config_map.metadata.name)
    metadata = client.V1ObjectMeta(
        name=config.name, namespace=config.namespace, labels=labels(config)
    )
    workload: Any
    if config.schedule is None:
        workload = client.V1Job(
            api_version="batch/v1", kind="Job", metadata=metadata, spec=job_spec
        )
    else:
        workload = client.V1CronJob(
            api_version="batch/v1",
            kind="CronJob",
            metadata=metadata,
            spec=client.V1CronJobSpec(
                schedule=config.schedule,
                time_zone="Etc/UTC",
                # Two runs at once would each take the whole budget: never overlap.
                concurrency_policy="Forbid",
                starting_deadline_seconds=3600,
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=3,
                job_template=client.V1JobTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels(config)), spec=job_spec
                ),
            ),
        )
    objects = [config_map, workload]
    if config.local_store:
        objects.insert(1, _store_claim(config))
    api = client.ApiClient()
    return [api.sanitize_for_serialization(o) for o in objects]


def _store_claim(config: CrawlJobConfig) -> Any:
    from kubernetes import client

    return client.V1PersistentVolumeClaim(
        api_version="v1",
        kind="PersistentVolumeClaim",
        metadata=client.V1ObjectMeta(
            name=config.claim_name, namespace=config.namespace, labels=labels(config)
        ),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=[config.store_access_mode],
            resources=client.V1VolumeResourceRequirements(requests={"storage": STORE_SIZE}),
        ),
    )


def _job_spec(config: CrawlJobConfig, config_map_name: str) -> Any:
    from kubernetes import client

    completions = len(config.categories)
    deadline = config.active_deadline_seconds or (
        JOB_DEADLINE_SECONDS if config.schedule is None else CRON_DEADLINE_SECONDS
    )
    return client.V1JobSpec(
        completion_mode="Indexed",
        completions=completions,
        parallelism=config.parallelism,
        # A replacement pod starts only once the old one has fully stopped, so a retry
        # never runs beside a terminating pod at twice the pod's share of the budget.
        pod_replacement_policy="Failed",
        backoff_limit_per_index=config.backoff_limit_per_index,
        max_failed_indexes=config.max_failed_indexes,
        active_deadline_seconds=deadline,
        ttl_seconds_after_finished=FINISHED_TTL_SECONDS,
        pod_failure_policy=client.V1PodFailurePolicy(
            rules=[
                # Evictions, preemptions and node drains are not the crawl's fault.
                client.V1PodFailurePolicyRule(
                    action="Ignore",
                    on_pod_conditions=[
                        client.V1PodFailurePolicyOnPodConditionsPattern(
                            type="DisruptionTarget", status="True"
                        )
                    ],
                ),
                client.V1PodFailurePolicyRule(
                    action="FailIndex",
                    on_exit_codes=client.V1PodFailurePolicyOnExitCodesRequirement(
                        container_name=CONTAINER, operator="In", values=[EXIT_BAD_INPUT]
                    ),
                ),
            ]
        ),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels=labels(config)),
            spec=_pod_spec(config, config_map_name),
        ),
    )


def _pod_spec(config: CrawlJobConfig, config_map_name: str) -> Any:
    from kubernetes import client

    env = [
        client.V1EnvVar(name="S2S_SITE", value=config.site),
        client.V1EnvVar(name="S2S_STORE", value=config.store),
        client.V1EnvVar(name="S2S_RATE", value=f"{config.rate:g}"),
        client.V1EnvVar(name="S2S_PARALLELISM", value=str(config.parallelism)),
        client.V1EnvVar(name="HOME", value="/tmp"),
    ]
    if config.base_url:
        env.append(client.V1EnvVar(name="S2S_BASE_URL", value=config.base_url))
    if config.image_base_url:
        env.append(client.V1EnvVar(name="S2S_IMAGE_BASE_URL", value=config.image_base_url))
    env_from = None
    if config.secret:
        # Store credentials stay in the Secret; the manifest only names it.
        env_from = [client.V1EnvFromSource(secret_ref=client.V1SecretEnvSource(name=config.secret))]
    container = client.V1Container(
        name=CONTAINER,
        image=config.image,
        image_pull_policy="IfNotPresent",
        command=["s2s-crawl"],
        # $(VAR) is expanded by the kubelet, so overlays change a value by env name.
        args=[
            "run",
            "--site",
            "$(S2S_SITE)",
            "--categories-file",
            f"{CATEGORIES_DIR}/{CATEGORIES_FILE}",
            "--store",
            "$(S2S_STORE)",
            "--format",
            "json",
        ],
        env=env,
        env_from=env_from,
        resources=client.V1ResourceRequirements(
            requests={"cpu": "250m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
            limits={"cpu": "1", "memory": "1Gi", "ephemeral-storage": "12Gi"},
        ),
        security_context=hardened_container_security(),
        volume_mounts=[
            client.V1VolumeMount(name="categories", mount_path=CATEGORIES_DIR, read_only=True),
            client.V1VolumeMount(name="scratch", mount_path="/tmp"),
            client.V1VolumeMount(name="data", mount_path=DATA_DIR),
        ],
    )
    return client.V1PodSpec(
        restart_policy="Never",
        termination_grace_period_seconds=TERMINATION_GRACE_SECONDS,
        service_account_name=config.service_account,
        automount_service_account_token=False,
        enable_service_links=False,
        security_context=hardened_pod_security(),
        containers=[container],
        volumes=[
            client.V1Volume(
                name="categories", config_map=client.V1ConfigMapVolumeSource(name=config_map_name)
            ),
            client.V1Volume(
                name="scratch", empty_dir=client.V1EmptyDirVolumeSource(size_limit="1Gi")
            ),
            _data_volume(config),
        ],
    )


def _data_volume(config: CrawlJobConfig) -> Any:
    from kubernetes import client

    if config.local_store:  # the store of record: it must outlive the pod
        return client.V1Volume(
            name="data",
            persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                claim_name=config.claim_name
            ),
        )
    # An S3 store: spill space for feed batches before upload, lost with the pod.
    return client.V1Volume(name="data", empty_dir=client.V1EmptyDirVolumeSource(size_limit="10Gi"))


def hardened_pod_security() -> Any:
    from kubernetes import client

    return client.V1PodSecurityContext(
        run_as_non_root=True,
        run_as_user=USER_ID,
        run_as_group=USER_ID,
        fs_group=USER_ID,
        seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
    )


def hardened_container_security() -> Any:
    from kubernetes import client

    return client.V1SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=client.V1Capabilities(drop=["ALL"]),
    )
