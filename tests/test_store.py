from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from dataset.core.errors import StoreError, StoreUnreachable
from dataset.core.store import LocalStore, S3Store, open_store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "local":
        return open_store(tmp_path / "store")
    bucket = request.getfixturevalue("s3_bucket")
    return open_store(f"{bucket}/prefix/deeper")


def test_round_trips_every_format(store) -> None:
    store.write_bytes("a/b.bin", b"\x00\x01")
    store.write_text("a/c.txt", "héllo")
    store.write_json("d/e.json", {"k": [1, 2]})
    store.write_parquet("f.parquet", pd.DataFrame({"x": [1, 2], "y": [["a"], []]}))
    assert store.read_bytes("a/b.bin") == b"\x00\x01"
    assert store.read_text("a/c.txt") == "héllo"
    assert store.read_json("d/e.json") == {"k": [1, 2]}
    frame = store.read_parquet("f.parquet")
    assert frame["x"].tolist() == [1, 2] and list(frame["y"][0]) == ["a"]
    assert list(store.list("a/")) == ["a/b.bin", "a/c.txt"]
    assert list(store.list()) == ["a/b.bin", "a/c.txt", "d/e.json", "f.parquet"]
    assert store.size("a/b.bin") == 2
    assert store.exists("d/e.json") and not store.exists("d/missing.json")
    store.delete("a/b.bin")
    assert not store.exists("a/b.bin")


def test_missing_key_names_the_object(store) -> None:
    with pytest.raises(StoreError, match="nope.json: no such object"):
        store.read_bytes("nope.json")


def test_download_and_upload(store, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 1000)
    store.upload(src, "up/src.bin")
    dest = tmp_path / "out" / "copy.bin"
    store.download("up/src.bin", dest)
    assert dest.read_bytes() == b"x" * 1000


def test_s3_keys_live_under_the_prefix(s3_bucket: str) -> None:
    import boto3

    store = open_store(f"{s3_bucket}/runs/")
    assert isinstance(store, S3Store)
    store.write_text("k.txt", "v")
    bucket = s3_bucket.removeprefix("s3://")
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["runs/k.txt"]
    assert store.uri_for("k.txt") == f"{s3_bucket}/runs/k.txt"


def test_check_fails_fast_on_missing_bucket(s3_env: str) -> None:
    with pytest.raises(StoreError, match="bucket .no-such-bucket-here. does not exist"):
        open_store("s3://no-such-bucket-here").check()


def test_bad_uris_are_refused() -> None:
    with pytest.raises(StoreError, match="bucket names"):
        open_store("s3://ab")
    with pytest.raises(StoreError, match="unsupported store URI"):
        open_store("gs://bucket/x")
    with pytest.raises(StoreError, match="invalid store key"):
        open_store("/tmp/x").read_bytes("../etc/passwd")


def test_local_writes_are_atomic_under_concurrent_readers(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    payloads = [bytes([i]) * 200_000 for i in range(1, 6)]
    store.write_bytes("obj", payloads[0])
    seen: set[bytes] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            data = store.read_bytes("obj")
            seen.add(data[:1] * len(data) == data and len(data) == 200_000)

    reader = threading.Thread(target=read)
    reader.start()
    for payload in payloads * 10:
        store.write_bytes("obj", payload)
    stop.set()
    reader.join()
    assert seen == {True}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_local_check_refuses_unwritable_root(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot be created"):
        open_store(blocker / "store").check()


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_local_files_get_the_mode_the_umask_gives(tmp_path: Path, umask: int) -> None:
    # A fresh process: the umask is read once per process.
    code = "from dataset.core.store import open_store; open_store('s').write_text('a/b.txt', 'x')"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, umask=umask, check=True)
    assert (tmp_path / "s/a/b.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_stale_temporaries_are_removed_fresh_ones_kept_when_asked(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write_text("raw/x/items/b.jsonl", "{}\n")
    old = tmp_path / "raw/x/items/.b.jsonl.k2j3.tmp"
    fresh = tmp_path / "raw/x/items/.c.jsonl.a1b2.tmp"
    for path in (old, fresh):
        path.write_text("half")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert store.remove_stale_temporaries("raw/x/", older_than_s=3600) == 1
    assert fresh.exists() and not old.exists()
    assert store.remove_stale_temporaries("raw/x/") == 1 and not fresh.exists()
    assert store.read_text("raw/x/items/b.jsonl") == "{}\n"  # objects are never touched


@pytest.mark.slow
def test_an_unreachable_s3_endpoint_is_transient_not_bad_input(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    store = open_store("s3://s2s-nobody/p")
    with pytest.raises(StoreUnreachable, match="store unreachable"):
        store.check()
    with pytest.raises(StoreUnreachable):
        store.write_text("k", "x")
    assert not isinstance(StoreUnreachable("x"), StoreError)  # exit 75, never 2
