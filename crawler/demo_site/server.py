"""HTTP plumbing of the demo marketplace: one threaded stdlib server per host.

The server turns each request into a :class:`Request`, asks the site for a
:class:`Response`, writes the request log line, then answers (HTTP/1.1, keep-alive,
always a Content-Length). Nothing is printed to stderr: the JSONL log is the access log.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawler.demo_site.log import RequestLog

logger = logging.getLogger(__name__)

# A Host header we are willing to write back into pages: a name or address and a port.
SAFE_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


@dataclass(frozen=True)
class Request:
    host: str  # "pages" or "images"
    method: str
    target: str  # path and query, as sent
    host_header: str | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)

    def number(self, name: str, default: int) -> int | None:
        """Query parameter ``name`` as a whole number >= 1 (``default`` when absent), or
        None when it is not one."""
        raw = self.query.get(name, [str(default)])[0]
        return int(raw) if raw.isdigit() and int(raw) >= 1 else None

    @property
    def hostname(self) -> str | None:
        """The Host header without its port, when it is a plain host name or address."""
        header = self.host_header
        if header is None or not SAFE_HOST.match(header):
            return None
        if header.startswith("["):
            return header[: header.index("]") + 1]
        return header.split(":")[0]


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer (a crawler killed on purpose) is not news.
        logger.debug("demo site: connection from %s ended abruptly", client_address, exc_info=True)


def make_server(
    address: str,
    port: int,
    host: str,
    handle: Callable[[Request], Response],
    log: RequestLog,
    stopped: Callable[[], bool],
) -> ThreadingHTTPServer:
    """A server for ``host`` ("pages" or "images") answering with ``handle``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "DemoMarketplace/1.0"

        def _serve(self, method: str) -> None:
            if stopped():
                # A keep-alive connection outliving stop(): drop it, as a dead server would.
                self.close_connection = True
                return
            arrived = time.time()
            request = Request(host, method, self.path, self.headers.get("Host"))
            try:
                response = handle(request)
            except Exception:  # a site bug must answer 500, not hang the client
                logger.exception("demo site: %s %s failed", method, self.path)
                response = Response(500, b"internal error", "text/plain")
            # Logged before answering: once a client has its answer, the log has the line.
            ua = self.headers.get("User-Agent", "")
            log.write(host, method, self.path, response.status, len(response.body), ua, arrived)
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(response.body)

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            self._serve("GET")

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve("HEAD")

        def do_POST(self) -> None:  # noqa: N802
            # Read the body so the next request on this connection starts clean.
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            return  # the JSONL request log is the access log; stderr stays quiet

    return _Server((address, port), Handler)
