"""API Gateway (HTTP API) on localhost: each request becomes a payload v2 event for the function of its route."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import http.server
import json
import logging
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from jobline_dev.local.console import LOGGER
from jobline_dev.local.functions import LocalFunction
from jobline_dev.local.spec import HttpRoute
from jobline_dev.local.template import ACCOUNT_ID

log = logging.getLogger(LOGGER)

API_ID = "local"
# API Gateway passes these media types as text; any other body arrives base64-encoded.
_TEXT_MEDIA = re.compile(r"^(text/.*|application/(json|.*\+json|xml|.*\+xml|javascript|x-www-form-urlencoded))$")
_NOT_FOUND = {"message": "Not Found"}
_INTERNAL_ERROR = {"message": "Internal Server Error"}


@dataclasses.dataclass(frozen=True)
class BoundRoute:
    """A template route compiled to a pattern, with the function it invokes."""

    route: HttpRoute
    function: LocalFunction
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, route: HttpRoute, function: LocalFunction) -> BoundRoute:
        """`{name}` matches one path segment, a final `{name+}` the rest of the path."""
        if route.path == "$default":
            return cls(route, function, re.compile(r"^/.*$"))
        regex = ""
        for segment in route.path.strip("/").split("/"):
            greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
            param = re.fullmatch(r"\{(\w+)\}", segment)
            if greedy:
                regex += f"/(?P<{greedy.group(1)}>.+)"
            elif param:
                regex += f"/(?P<{param.group(1)}>[^/]+)"
            else:
                regex += "/" + re.escape(segment)
        return cls(route, function, re.compile(f"^{regex or '/'}$"))

    def specificity(self) -> tuple[int, int, int, int]:
        """Sort key: $default last, greedy paths after plain ones, fewer parameters and named methods first."""
        path = self.route.path
        return (
            path == "$default",
            "+}" in path,
            path.count("{"),
            self.route.method == "ANY",
        )


def match(routes: list[BoundRoute], *, method: str, path: str) -> tuple[BoundRoute, dict[str, str]] | None:
    """The route API Gateway would pick for `method` and the decoded `path`, with its path parameters."""
    for bound in routes:
        if bound.route.method not in {"ANY", method}:
            continue
        found = bound.pattern.match(path)
        if found:
            return bound, found.groupdict()
    return None


def build_event(
    *, method: str, target: str, headers: list[tuple[str, str]], body: bytes, route_key: str, params: dict[str, str]
) -> dict[str, Any]:
    """The payload v2 event API Gateway hands a Lambda integration for this request."""
    parts = urlsplit(target)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = dt.datetime.now(dt.UTC)
    request_id = uuid.uuid4().hex
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": merged.get("host", "localhost"),
            "domainPrefix": merged.get("host", "localhost").split(".")[0],
            "http": {
                "method": method,
                "path": unquote(parts.path),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if params:
        event["pathParameters"] = params
    if body:
        media = merged.get("content-type", "").split(";")[0].strip().lower()
        text = _as_text(body) if not media or _TEXT_MEDIA.match(media) else None
        event["body"] = text if text is not None else base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = text is None
    return event


def _as_text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body from a handler's answer, by the payload v2 rules."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Without a statusCode API Gateway takes the whole answer as a 200 JSON body.
        text = result if isinstance(result, str) else json.dumps(result)
        return 200, [("content-type", "application/json")], text.encode()
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return int(result["statusCode"]), headers, body


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        started = time.monotonic()
        body = self._read_body()
        path = unquote(urlsplit(self.path).path)
        found = match(self.server.routes, method=self.command, path=path)
        if found is None:
            status, headers, payload = 404, [("content-type", "application/json")], json.dumps(_NOT_FOUND).encode()
        else:
            bound, params = found
            event = build_event(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                route_key=bound.route.route_key,
                params=params,
            )
            try:
                status, headers, payload = http_response(bound.function.invoke(event))
            except Exception:  # noqa: BLE001 - API Gateway answers 500 for any failed invocation
                status, headers = 500, [("content-type", "application/json")]
                payload = json.dumps(_INTERNAL_ERROR).encode()
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in {"content-length", "connection"}:
                self.send_header(name, value)
        self.send_header("apigw-requestid", uuid.uuid4().hex[:16])
        self.send_header("content-length", str(0 if self.command == "HEAD" else len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        log.info("%s %s %d (%.0f ms)", self.command, self.path, status, (time.monotonic() - started) * 1000)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            # Clients streaming a body send it in chunks, without a Content-Length.
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
            self.rfile.readline()  # the CRLF after the last, empty chunk
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: Any) -> None:
        return None  # one access line per request comes from _serve


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    routes: list[BoundRoute]


class Gateway:
    """The HTTP API on `host:port`, routing as the template's HttpApi events say."""

    def __init__(self, routes: list[tuple[HttpRoute, LocalFunction]], *, host: str, port: int) -> None:
        self.routes = sorted((BoundRoute.of(r, f) for r, f in routes), key=BoundRoute.specificity)
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._server = _Server((self.host, self.port), _RequestHandler)
        self._server.routes = self.routes
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
