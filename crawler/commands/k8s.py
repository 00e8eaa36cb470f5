"""Write the Kubernetes objects of a crawl: one Indexed Job index per category.

`s2s-crawl k8s render` prints a ConfigMap holding the category list and an Indexed
Job (or, with --schedule, a CronJob for incremental recrawls) whose pod i crawls
category i with 1/parallelism of the site's request budget. It builds the same
objects as the kustomize base in k8s/crawl/base, for any site and category list,
so adding a category needs no YAML editing. Pipe it to kubectl:

  s2s-crawl k8s render --site demo --categories robes,jeans,doudounes \\
      --image street2shop/crawl:0.1.0 --store s3://street2shop \\
      --rate 4 --parallelism 3 --namespace street2shop --secret s2s-s3-credentials \\
    | kubectl apply -f -

A Job's pod template is immutable: to change a running crawl, delete the Job
(`kubectl delete job s2s-crawl`) and apply again; the visited ledger in the store
makes the rerun skip what is already collected.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crawler import k8s_render
from crawler.categories import parse_categories, read_categories
from crawler.profiles import load_profile

NAME = "k8s"
HELP = "print Kubernetes manifests (Indexed Job per category) for kubectl apply -f -"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="k8s_command", metavar="ACTION", required=True)
    render = sub.add_parser(
        "render",
        help="print the ConfigMap + Indexed Job (or CronJob) as YAML",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument("--site", required=True, help="site profile (crawler/sites/SITE.yaml)")
    source = render.add_mutually_exclusive_group(required=True)
    source.add_argument("--categories", metavar="A,B,C", help="comma-separated category slugs")
    source.add_argument(
        "--categories-file", type=Path, metavar="FILE", help="one category slug a line"
    )
    render.add_argument("--image", required=True, help="crawl image, e.g. REGISTRY/crawl:TAG")
    render.add_argument(
        "--store",
        required=True,
        metavar="URI",
        help="store the pods write: s3://BUCKET[/PREFIX], or a path under /data (a claim "
        "is rendered and mounted there)",
    )
    render.add_argument(
        "--store-access-mode",
        choices=["ReadWriteMany", "ReadWriteOnce"],
        default="ReadWriteMany",
        help="access mode of a local store's claim (default: ReadWriteMany, for pods on "
        "several nodes; ReadWriteOnce on a one-node cluster)",
    )
    render.add_argument(
        "--rate",
        required=True,
        type=float,
        help="requests/s per site host (pages, images), shared by all pods",
    )
    render.add_argument(
        "--parallelism", required=True, type=int, help="pods at once (each takes rate/P)"
    )
    render.add_argument("--name", default="s2s-crawl", help="Job name (default: s2s-crawl)")
    render.add_argument("--namespace", help="namespace of the objects (default: kubectl's)")
    render.add_argument(
        "--schedule", metavar="CRON", help="render a CronJob (UTC) for incremental recrawls"
    )
    render.add_argument("--secret", help="Secret with the store credentials (loaded as env)")
    render.add_argument(
        "--service-account", help="ServiceAccount of the pods (e.g. one with an IAM role)"
    )
    render.add_argument("--base-url", help="site pages URL inside the cluster (S2S_BASE_URL)")
    render.add_argument("--image-base-url", help="site images URL (S2S_IMAGE_BASE_URL)")
    render.add_argument(
        "--backoff-limit-per-index",
        type=int,
        default=3,
        help="retries of one category before it is marked failed (default: 3)",
    )
    render.add_argument(
        "--active-deadline-seconds",
        type=int,
        help="wall-clock limit of the whole Job (default: 7 days; 23 h with --schedule)",
    )


def run(args: argparse.Namespace) -> int:
    if args.categories_file is not None:
        categories = read_categories(args.categories_file)
    else:
        categories = parse_categories(args.categories.replace(",", "\n"), "--categories")
    # A typo here would surface only later, as pod after pod exiting 2: refuse it now.
    profile = load_profile(args.site)
    for category in categories:
        profile.check_category(category)
    config = k8s_render.make_config(
        site=args.site,
        categories=categories,
        image=args.image,
        store=args.store,
        rate=args.rate,
        parallelism=args.parallelism,
        name=args.name,
        namespace=args.namespace,
        schedule=args.schedule,
        secret=args.secret,
        service_account=args.service_account,
        base_url=args.base_url,
        image_base_url=args.image_base_url,
        backoff_limit_per_index=args.backoff_limit_per_index,
        active_deadline_seconds=args.active_deadline_seconds,
        store_access_mode=args.store_access_mode,
    )
    sys.stdout.write(k8s_render.to_yaml(k8s_render.render_objects(config)))
    return 0
