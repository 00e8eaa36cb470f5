"""Try a site profile on one listing page and one item, storing nothing (like `scrapy parse`).

  s2s-crawl probe --site storefront --category dresses
  s2s-crawl probe --site demo --category robes --mode html --item http://127.0.0.1:8000/articles/123

Fetches the category's first listing page, then its first item's page (or --item URL),
obeying robots.txt and the budget, and prints what each selector or JSON path of the
profile found, the record a crawl would store and which of its fields came out empty.
Exit 1 when the listing page gives no item or no record could be built.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from crawler.checks import check_user_agent
from crawler.profiles import load_profile, resolve_urls
from dataset.core import clikit

NAME = "probe"
HELP = "try a site profile on one listing page and one item; nothing stored"
SHOWN = 160  # characters of one found value in the text report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", required=True, help="site profile (crawler/sites/SITE.yaml)")
    parser.add_argument("--category", required=True, metavar="SLUG", help="a category slug")
    parser.add_argument("--item", metavar="URL", help="this item page instead of the first")
    parser.add_argument("--mode", choices=["api", "html"], help="default: the profile's mode")
    parser.add_argument("--base-url", help="site pages URL (S2S_BASE_URL; default: profile)")
    parser.add_argument("--image-base-url", help="site photo host URL (S2S_IMAGE_BASE_URL)")
    parser.add_argument("--rate", type=float, help="requests/s (default: the profile's rate)")
    parser.add_argument("--user-agent", help="User-Agent with a contact (default: settings)")
    clikit.add_format_argument(parser)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _section(title: str, part: dict[str, Any] | None) -> list[str]:
    if part is None:
        return [f"{title}: not fetched"]
    lines = [f"{title}: {part['url']} ({part.get('status') or part.get('error')})"]
    lines += [f"  {key}: {_shown(value)}" for key, value in (part.get("found") or {}).items()]
    if part.get("items") is not None:
        lines.append(f"  -> {part['items']} item(s), next page: {part.get('next_url')}")
    if part.get("error") and part.get("status"):
        lines.append(f"  !! {part['error']}")
    return lines


def render(report: dict[str, Any]) -> str:
    lines = _section("listing", report["listing"]) + _section("item", report["item"])
    record = report["record"]
    if record is None:
        lines.append("record: none")
    else:
        lines.append("record:")
        lines += [f"  {key}: {_shown(record.get(key))}" for key in report["fields"]]
        lines.append(f"  photo fetched by a crawl: {report.get('photo_to_fetch')}")
        if report.get("photos_offsite"):
            lines.append(f"  offsite photos skipped: {report['photos_offsite']}")
    lines.append(f"empty fields: {', '.join(report['empty_fields']) or 'none'}")
    lines.append(f"{report['requests']} requests (robots.txt included)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from crawler import settings as defaults
    from crawler.probe import probe
    from crawler.profiles import RECORD_FIELDS

    profile = resolve_urls(load_profile(args.site), args.base_url, args.image_base_url)
    profile = profile.with_mode(args.mode)
    profile.check_category(args.category)
    report = probe(
        profile,
        args.category,
        item_url=args.item,
        rate=args.rate or profile.rate,
        user_agent=check_user_agent(args.user_agent or defaults.USER_AGENT),
        log_level="INFO" if args.verbose else "ERROR",
    )
    report["fields"] = list(RECORD_FIELDS)
    clikit.emit(report, args.format, render(report))
    return 0 if report["record"] is not None else 1
