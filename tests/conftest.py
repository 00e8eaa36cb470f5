"""Fixtures shared by the whole suite: real servers on loopback, never mocks."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's standalone S3 server on a free loopback port, for the whole session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 (and Scrapy, and subprocesses) at moto with dummy credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return moto_endpoint


@pytest.fixture
def s3_bucket(s3_env: str, request: pytest.FixtureRequest) -> str:
    """A fresh bucket per test; returns its ``s3://`` URI."""
    import boto3

    name = "s2s-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    name = "".join(ch for ch in name if ch.isalnum() or ch == "-")
    client = boto3.client("s3")
    client.create_bucket(Bucket=name)
    return f"s3://{name}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The ``slow`` tests first, so that pytest-xdist spreads them over its workers from
    the start instead of leaving the longest to run alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
