"""ElasticsearchCompatProxy: lets the official Elasticsearch 8 client talk to OpenSearch, for tests.

The 8.x client refuses a server whose answers lack ``X-Elastic-Product: Elasticsearch`` and sends
``application/vnd.elasticsearch+json; compatible-with=8``, which OpenSearch rejects. This proxy
(test code only: it stands in for an Elasticsearch server, which is not open source) forwards
every request to OpenSearch with the media type rewritten to plain JSON / NDJSON and adds the
product header to every answer. Nothing else is changed, so the query DSL really runs on
OpenSearch.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import requests

__all__ = ["ElasticsearchCompatProxy"]

_COMPAT = re.compile(r"application/vnd\.elasticsearch\+(json|x-ndjson)[^,]*")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def _plain(media_type: str) -> str:
    return _COMPAT.sub(lambda m: f"application/{m.group(1)}", media_type)


class ElasticsearchCompatProxy:
    """A local HTTP proxy to ``upstream`` on 127.0.0.1 (random port); a context manager."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests_seen = 0
        self._session = requests.Session()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: _plain(v) if k.lower() in ("content-type", "accept") else v
                    for k, v in self.headers.items()
                    if k.lower() not in _HOP_BY_HOP
                }
                proxy.requests_seen += 1
                try:
                    answer = proxy._session.request(
                        self.command,
                        proxy.upstream + self.path,
                        data=body,
                        headers=headers,
                        timeout=30,
                    )
                except requests.RequestException as exc:
                    self.send_error(502, f"upstream unreachable: {exc}")
                    return
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in _HOP_BY_HOP | {"content-encoding"}:
                        self.send_header(key, value)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

            def log_message(self, format: str, *args: object) -> None:
                return  # the test output is no place for an access log

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The proxy's URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._session.close()
