"""The demo marketplace over real HTTP on loopback: routes, budget, faults, the command."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from crawler.demo_site import load_config
from crawler.demo_site.log import busiest_window
from dataset.core.errors import UserError
from tests.demo_site_fixtures import RunningDemoSite, start_demo_site
from tests.demo_site_fixtures import demo_site as demo_site  # noqa: F401
from tests.demo_site_fixtures import demo_site_factory as demo_site_factory  # noqa: F401

UA = "street2shop-tests/1.0 (+mailto:data@example.com)"
ROOT = Path(__file__).resolve().parents[1]


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": UA, **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def soup(url: str) -> BeautifulSoup:
    status, _, body = fetch(url)
    assert status == 200, url
    return BeautifulSoup(body, "html.parser")


def jsonld(page: BeautifulSoup) -> dict[str, Any]:
    script = page.find("script", type="application/ld+json")
    assert script is not None
    return json.loads(script.string or "")


def details(page: BeautifulSoup) -> dict[str, str]:
    table = page.find("table", class_="details")
    assert table is not None
    return {tr.th.get_text(strip=True): tr.td.get_text(strip=True) for tr in table.find_all("tr")}


def test_home_and_robots(demo_site: RunningDemoSite) -> None:
    links = {a["href"] for a in soup(demo_site.base_url + "/").find_all("a", class_="category")}
    assert links == {f"/catalogue/{slug}" for slug in demo_site.universe.categories}
    status, headers, body = fetch(demo_site.base_url + "/robots.txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    lines = body.decode().splitlines()
    assert "User-agent: *" in lines and "Disallow: /membres/" in lines
    assert "Crawl-delay: 0" in lines


def test_pagination_walks_every_item_in_order(demo_site: RunningDemoSite) -> None:
    url, seen = demo_site.base_url + "/catalogue/robes", []
    while url:
        page = soup(url)
        for card in page.find_all("a", class_="item-card"):
            seen.append(re.match(r"/articles/(\d+)-", card["href"]).group(1))  # type: ignore[union-attr]
        assert all(a["href"].startswith("/membres/") for a in page.find_all("a", class_="seller"))
        nxt = page.find("a", rel="next")
        url = demo_site.base_url + nxt["href"] if nxt else ""
    listings = demo_site.universe.listings("robes")
    assert len(listings) > demo_site.config.per_page  # more than one page
    assert seen == [item.item_id for item in listings]
    pages = -(-len(listings) // demo_site.config.per_page)
    base = demo_site.base_url
    assert fetch(f"{base}/catalogue/robes?page={pages + 1}")[0] == 404
    assert fetch(f"{base}/catalogue/robes?page=0")[0] == 404
    assert fetch(f"{base}/catalogue/chapeaux")[0] == 404


def test_item_page_jsonld_table_and_api_agree(demo_site: RunningDemoSite) -> None:
    base = demo_site.base_url
    status, _, body = fetch(f"{base}/api/v2/catalog/items?catalog=jupes&page=1&per_page=5")
    payload = json.loads(body)
    assert status == 200 and len(payload["items"]) == 5
    total = len(demo_site.universe.listings("jupes"))
    assert payload["pagination"] == {
        "current_page": 1,
        "total_pages": -(-total // 5),
        "per_page": 5,
        "total_entries": total,
    }
    checked = 0
    for item in payload["items"]:
        listing = demo_site.universe.listing(item["id"])
        status, headers, body = fetch(item["url"])
        if listing.deleted:
            assert status == 404
            continue
        page = BeautifulSoup(body, "html.parser")
        product, table = jsonld(page), details(page)
        assert product["sku"] == item["id"] and product["name"] == item["title"]
        assert product["offers"]["price"] == item["price"]["amount"]
        assert product["offers"]["priceCurrency"] == item["price"]["currency"] == "EUR"
        assert table["Prix"] == item["price"]["amount"].replace(".", ",") + " €"
        assert (
            product.get("color")
            == table.get("Couleur")
            == (", ".join(item["colors"]) if item["colors"] else None)
        )
        assert product.get("material") == table.get("Matière")
        assert table.get("Genre") == item["gender"] and table.get("Marque") == item["brand"]
        assert table.get("État") == item["condition"] and table.get("Taille") == item["size"]
        photos = [img["src"] for img in page.find_all("img", class_="photo")]
        assert photos == product["image"] == [p["url"] for p in item["photos"]]
        assert all(src.startswith(demo_site.image_base_url + "/photos/") for src in photos)
        assert ("X-Robots-Tag" in headers) == listing.noai
        checked += 1
    assert checked >= 3


def test_photos_come_from_the_image_host_only(demo_site: RunningDemoSite) -> None:
    listing = next(x for x in demo_site.universe.listings("jeans") if not x.deleted)
    url = f"{demo_site.image_base_url}/photos/{listing.photo_ids[0]}.jpg"
    status, headers, body = fetch(url)
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(body)).size == (64, 64)
    assert fetch(f"{demo_site.base_url}/photos/{listing.photo_ids[0]}.jpg")[0] == 404
    assert fetch(f"{demo_site.image_base_url}/catalogue/jeans")[0] == 404
    assert fetch(f"{demo_site.image_base_url}/photos/{listing.item_id}-9.jpg")[0] == 404
    hosts = {(e["host"], e["path"]): e for e in demo_site.requests()}
    entry = hosts[("images", f"/photos/{listing.photo_ids[0]}.jpg")]
    assert entry["status"] == 200 and entry["bytes"] == len(body) and entry["ua"] == UA


def test_opt_outs_and_deleted_items(demo_site_factory: Any) -> None:
    site = demo_site_factory(items_per_category=12, max_per_page=100)
    listings = site.universe.all_listings()
    noai = next(x for x in listings if x.noai and not x.deleted)
    deleted = next(x for x in listings if x.deleted)
    status, headers, body = fetch(f"{site.base_url}/articles/{noai.item_id}-x")
    assert status == 200 and headers["X-Robots-Tag"] == "noai"
    status, headers, _ = fetch(f"{site.image_base_url}/photos/{noai.photo_ids[0]}.jpg")
    assert status == 200 and headers["X-Robots-Tag"] == "noimageai"
    assert fetch(f"{site.base_url}/articles/{deleted.item_id}-x")[0] == 404
    assert fetch(f"{site.image_base_url}/photos/{deleted.photo_ids[0]}.jpg")[0] == 404
    listed = fetch(f"{site.base_url}/api/v2/catalog/items?catalog={deleted.category}&per_page=100")
    assert deleted.item_id in {item["id"] for item in json.loads(listed[2])["items"]}


def test_over_budget_answers_429_with_retry_after(demo_site_factory: Any) -> None:
    site = demo_site_factory(page_rate="5:3")
    url = site.base_url + "/robots.txt"
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(fetch, [url] * 16))
    limited = [headers for status, headers, _ in answers if status == 429]
    assert limited and len(limited) < 16
    assert all(int(h["Retry-After"]) >= 1 for h in limited)
    entries = site.requests()
    assert len(entries) == 16 and sum(e["status"] == 429 for e in entries) == len(limited)
    # Served from the server's side: never more than burst + rate in any second.
    assert busiest_window(entries, "pages") <= 3 + 5
    assert fetch(site.image_base_url + "/photos/0-0.jpg")[0] == 404  # its own budget


def test_faults_are_injected(demo_site_factory: Any) -> None:
    site = demo_site_factory(
        faults={"server_error": 1.0, "bad_jsonld": 1.0, "truncated_image": 1.0},
    )
    listing = next(x for x in site.universe.listings("shorts") if not x.deleted)
    url = f"{site.base_url}/articles/{listing.item_id}-short"
    first, second = fetch(url), fetch(url)
    assert first[0] == 503 and first[1]["Retry-After"] == "1"
    assert second[0] == 200
    page = BeautifulSoup(second[2], "html.parser")
    with pytest.raises(json.JSONDecodeError):
        jsonld(page)
    assert details(page)["Prix"]  # the table is still fine
    photo = f"{site.image_base_url}/photos/{listing.photo_ids[0]}.jpg"
    assert fetch(photo)[0] == 503
    status, _, body = fetch(photo)
    assert status == 200 and body.startswith(b"\xff\xd8")
    with pytest.raises(OSError):
        Image.open(io.BytesIO(body)).load()
    assert fetch(site.base_url + "/robots.txt")[0] == 200  # never faulted


def test_slow_and_deleted_faults(demo_site_factory: Any) -> None:
    site = demo_site_factory(faults={"slow": 1.0, "slow_seconds": 0.3, "deleted": 1.0})
    listing = site.universe.listings("polos")[0]
    start = time.monotonic()
    status, _, body = fetch(f"{site.base_url}/catalogue/polos")
    assert status == 200 and time.monotonic() - start >= 0.3
    assert listing.item_id.encode() in body  # listed ...
    assert fetch(f"{site.base_url}/articles/{listing.item_id}-polo")[0] == 404  # ... then gone


def test_same_seed_same_site_across_restarts(tmp_path: Path) -> None:
    def snapshot(folder: str, seed: int) -> tuple[list[Any], bytes]:
        with start_demo_site(tmp_path / folder, seed=seed) as site:
            _, _, body = fetch(f"{site.base_url}/api/v2/catalog/items?catalog=blouses")
            items = json.loads(body)["items"]
            photo = fetch(items[0]["photos"][0]["url"])[2]
            return [(i["id"], i["title"], i["colors"], i["price"]) for i in items], photo

    first, again, other = snapshot("a", 5), snapshot("b", 5), snapshot("c", 6)
    assert first == again
    assert first[0] != other[0]


def test_api_rejects_bad_queries(demo_site: RunningDemoSite) -> None:
    api = demo_site.base_url + "/api/v2/catalog/items"
    assert fetch(f"{api}?catalog=chapeaux")[0] == 404
    assert fetch(f"{api}?catalog=robes&per_page=0")[0] == 400
    assert fetch(f"{api}?catalog=robes&page=99")[0] == 404


def test_bad_options_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text("seed: 1\nfaults:\n  server_eror: 0.1\n")
    with pytest.raises(UserError, match=r"site.yaml(:\d+)?: faults.server_eror: "):
        load_config(config)
    with pytest.raises(UserError, match="page_rate"):
        load_config(page_rate="fast")


def test_command_serves_until_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "crawler", "demo-site", "--port", "0", "--image-port", "0"]
    cmd += ["--items-per-category", "3", "--ready-file", str(ready)]
    cmd += ["--request-log", str(tmp_path / "log.jsonl"), "--fault", "bad_jsonld=0.5"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        urls = json.loads(ready.read_text())
        assert fetch(urls["base_url"] + "/robots.txt")[0] == 200
        assert fetch(urls["image_base_url"] + "/robots.txt")[0] == 404
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert out.strip() == (
        f"demo site ready: pages {urls['base_url']} images {urls['image_base_url']}"
    )
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 2


def test_command_rejects_bad_flags() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "crawler", "demo-site", "--fault", "slow"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "s2s-crawl: error: --fault expects NAME=NUMBER. Received: 'slow'"
    )


def test_public_urls_for_a_cluster_service(demo_site_factory: Any) -> None:
    site = demo_site_factory(base_url="http://demo-site:8080", image_base_url="http://cdn:8081/")
    listing = next(x for x in site.universe.listings("chemises") if not x.deleted)
    bound = site.site.bound_url("pages")
    page = soup(f"{bound}/articles/{listing.item_id}")
    assert jsonld(page)["image"][0] == f"http://cdn:8081/photos/{listing.photo_ids[0]}.jpg"
    _, _, body = fetch(f"{bound}/api/v2/catalog/items?catalog=chemises")
    assert json.loads(body)["items"][0]["url"].startswith("http://demo-site:8080/articles/")


def test_links_follow_the_host_the_client_used(demo_site: RunningDemoSite) -> None:
    port = demo_site.base_url.rsplit(":", 1)[1]
    image_port = demo_site.image_base_url.rsplit(":", 1)[1]
    api = f"{demo_site.base_url}/api/v2/catalog/items?catalog=shorts"
    item = json.loads(fetch(api, Host=f"localhost:{port}")[2])["items"][0]
    assert item["url"].startswith(f"http://localhost:{port}/articles/")
    assert item["photos"][0]["url"].startswith(f"http://localhost:{image_port}/photos/")
    item = json.loads(fetch(api, Host="evil</script>")[2])["items"][0]
    assert item["url"].startswith(demo_site.base_url + "/articles/")
