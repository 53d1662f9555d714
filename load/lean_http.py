"""A lean HTTP/1.1 client and the Locust user built on it: what every shop scenario runs on.

Locust's ``FastHttpUser`` sends each request through geventhttpclient's ``UserAgent`` (redirects,
cookies, URL quoting, compatibility request and response objects): about 170 µs of one core per
request on this machine, four times what ``wrk`` spends. :class:`LeanClient` keeps idle keep-alive
sockets per user, writes a request's head in one string, parses the answer with llhttp
(geventhttpclient's C parser) and fires Locust's ``request`` event itself, with the same
arguments Locust's own clients fire — so Locust's stats, the web UI, the request-log plugin and
its thresholds see every request as before.

Every request carries a fresh ``X-Request-ID``, and its ``context`` holds that id and (open
model) the intended send time, under the keys the request-log plugin reads. A request is used
as a context manager; the event fires when its ``with`` block ends, so a task can judge the
answer first (as with Locust's ``catch_response=True``)::

    with self.client.request("GET", "/api/v1/products/7", name="GET /api/v1/products/{id}") as answer:
        if answer.status_code != 200:
            answer.failure(f"answered {answer.status_code}")

What it does not do, on purpose: redirects, cookies, compression, proxies, TLS (plain ``http://``
hosts only: every target of the harness is reached over plain HTTP), and URL quoting (paths are
sent as given: quote them first).
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from gevent import socket
from geventhttpclient._parser import HTTPParseError, HTTPResponseParser
from locust import User
from locust.event import EventHook
from locust.exception import CatchResponseError, StopTest

from load.fast_json import dumps, loads
from load.request_log import INTENDED_MS, REQUEST_ID, new_request_id

__all__ = ["IDLE_S", "Answer", "LeanClient", "LeanHttpUser"]

# An idle keep-alive socket is retired before servers close theirs (uvicorn: 5 s), so a request
# never races the server's close.
IDLE_S = 2.0
_RECV = 65536
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class _Parser(HTTPResponseParser):
    """Collects the status and body of one answer; headers are parsed (llhttp) but not kept."""

    def __init__(self, head: bool) -> None:
        super().__init__()
        self.head = head
        self.began = False
        self.complete = False
        self.body = bytearray()

    def _on_message_begin(self) -> None:
        self.began = True

    def _on_status(self, _: str) -> None:
        pass

    def _on_header_field(self, _: str) -> None:
        pass

    def _on_header_value(self, _: str) -> None:
        pass

    def _on_headers_complete(self) -> bool:
        return self.head  # an answer to HEAD has no body, whatever its Content-Length says

    def _on_body(self, data: bytes) -> None:
        self.body += data

    def _on_message_complete(self) -> None:
        if self.get_code() >= 200:
            self.complete = True
        else:  # an interim 1xx answer: the final one follows on the same socket
            self.body.clear()


class Answer:
    """One request attempt: what came back and, when its ``with`` block ends, its report.

    ``status_code`` is 0 and ``error`` the exception when no complete answer came back. A status
    of 400 or more, or an error, is a failure unless the task decides otherwise with
    :meth:`success` or :meth:`failure`; a transport error always stays a failure.
    """

    __slots__ = (
        "_client",
        "_failure",
        "_judged",
        "content",
        "context",
        "error",
        "method",
        "name",
        "path",
        "response_time",
        "start_time",
        "status_code",
    )

    def __init__(
        self,
        client: LeanClient,
        *,
        method: str,
        path: str,
        name: str,
        context: dict[str, Any],
        start_time: float,
    ) -> None:
        self._client = client
        self.method = method
        self.path = path
        self.name = name
        self.context = context
        self.start_time = start_time
        self.status_code = 0
        self.content = b""
        self.response_time = 0.0
        self.error: BaseException | None = None
        self._failure: BaseException | None = None
        self._judged = False

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` if it is not JSON."""
        return loads(self.content)

    def success(self) -> None:
        """Count this request as a success (a transport error stays a failure)."""
        self._judged, self._failure = True, None

    def failure(self, reason: str) -> None:
        """Count this request as a failure, with ``reason`` in Locust's failure table."""
        self._judged, self._failure = True, CatchResponseError(reason)

    def __enter__(self) -> Answer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A task that raises still made the request: it is reported, then the exception goes on.
        failure = self.error or exc or self._failure
        if failure is None and not self._judged and self.status_code >= 400:
            failure = CatchResponseError(f"{self.status_code} for {self.method} {self.name}")
        self._client.report(self, failure)

    def __repr__(self) -> str:
        return f"<Answer {self.method} {self.path} {self.status_code}>"


class LeanClient:
    """Keep-alive HTTP/1.1 requests to one ``http://host:port`` base, reported to Locust."""

    def __init__(
        self,
        base_url: str,
        *,
        request_event: EventHook,
        connection_timeout: float,
        network_timeout: float,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"LeanClient: the host must be an http:// URL, got {base_url!r}")
        self._address = (parts.hostname, parts.port or 80)
        self._prefix = parts.path.rstrip("/")
        self._fixed_headers = f"Host: {parts.netloc}\r\nUser-Agent: stormcheck-load\r\n"
        self._connection_timeout = connection_timeout
        self._network_timeout = network_timeout
        self._fire = request_event.fire
        self._idle: list[tuple[socket.socket, float]] = []

    def request(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        intended_ms: float | None = None,
    ) -> Answer:
        """Send one request and read its answer; report it when the returned answer's block ends.

        Never raises for a network or protocol failure: the answer carries it as ``error``.
        """
        request_id = new_request_id()
        context: dict[str, Any] = {REQUEST_ID: request_id}
        if intended_ms is not None:
            context[INTENDED_MS] = intended_ms
        head = f"{method} {self._prefix}{path} HTTP/1.1\r\n{self._fixed_headers}X-Request-ID: {request_id}\r\n"
        if headers:
            head += "".join(f"{key}: {value}\r\n" for key, value in headers.items())
        if json is not None:
            body = dumps(json)
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            message = head.encode() + body
        else:
            message = (head + "\r\n").encode()
        answer = Answer(
            self,
            method=method,
            path=path,
            name=name or path,
            context=context,
            start_time=time.time(),
        )
        started = time.perf_counter()
        try:
            parser = self._exchange(message, method == "HEAD", idempotent=method in _IDEMPOTENT)
        except (OSError, HTTPParseError) as exc:
            answer.error = exc
        else:
            answer.status_code = parser.get_code()
            answer.content = bytes(parser.body)
        answer.response_time = (time.perf_counter() - started) * 1000
        return answer

    def report(self, answer: Answer, failure: BaseException | None) -> None:
        """Fire Locust's ``request`` event for ``answer`` (stats, web UI, request log)."""
        self._fire(
            request_type=answer.method,
            name=answer.name,
            response_time=answer.response_time,
            response_length=len(answer.content),
            response=answer,
            context=answer.context,
            exception=failure,
            start_time=answer.start_time,
            url=answer.path,
        )

    def close(self) -> None:
        """Close every idle socket (sockets in use close when their request ends)."""
        idle, self._idle = self._idle, []
        for sock, _ in idle:
            sock.close()

    def _exchange(self, message: bytes, head: bool, *, idempotent: bool) -> _Parser:
        sock, reused = self._socket()
        parser = _Parser(head)
        try:
            sent = sock.send(message)  # one segment, almost always; sendall costs more per call
            if sent < len(message):
                sock.sendall(message[sent:])
            while not parser.complete:
                data = sock.recv(_RECV)
                if data:
                    parser.feed(data)
                    continue
                if parser.began:
                    parser.feed(data)  # b"": the peer closed, which ends a close-delimited body
                if not parser.complete:
                    raise ConnectionError(
                        "the server closed the connection before its answer ended"
                    )
        except BaseException as exc:
            sock.close()
            # A kept-alive socket the server closed as we reused it: the request never reached
            # the server, so an idempotent one is sent once more (as urllib3 does).
            if reused and idempotent and not parser.began and _is_reset(exc):
                return self._exchange(message, head, idempotent=False)
            raise
        if parser.should_keep_alive():
            self._idle.append((sock, time.monotonic()))
        else:
            sock.close()
        return parser

    def _socket(self) -> tuple[socket.socket, bool]:
        now = time.monotonic()
        while self._idle:
            sock, since = self._idle.pop()
            if now - since < IDLE_S and _still_open(sock, self._network_timeout):
                return sock, True
            sock.close()
        sock = socket.create_connection(self._address, timeout=self._connection_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self._network_timeout)
        return sock, False


def _is_reset(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionError)  # EOF, ECONNRESET, EPIPE; not a timeout


def _still_open(sock: socket.socket, timeout: float) -> bool:
    """An idle keep-alive socket is usable if nothing (no close, no stray bytes) arrived on it."""
    sock.settimeout(0.0)  # gevent: raise instead of waiting when there is nothing to read
    try:
        sock.recv(1, socket.MSG_PEEK)  # returns: closed (b"") or bytes nobody asked for
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(timeout)


class LeanHttpUser(User):
    """A Locust user whose ``client`` is a :class:`LeanClient` on the user's ``host``."""

    abstract = True
    network_timeout: float = 60.0  # per send or receive
    connection_timeout: float = 60.0

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if self.host is None:
            raise StopTest("no host: set the user's host attribute or pass --host")
        self.client = LeanClient(
            self.host,
            request_event=environment.events.request,
            connection_timeout=self.connection_timeout,
            network_timeout=self.network_timeout,
        )

    def on_stop(self) -> None:
        """Close the user's idle sockets."""
        self.client.close()
