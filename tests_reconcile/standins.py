"""Stand-ins for the services Nova's API asks while the test runs none of them.

Why: Nova's server listing asks Neutron for the instances' ports and security
groups, and a delete asks Placement (the allocations) and Glance. The test
runs no Neutron, Placement or Glance: one small HTTP server answers the three,
each under a path of its own (``/network``, ``/placement``, ``/image``) that
nova.conf names as the service's ``endpoint_override``. Every answer is the
empty one (no ports, no security groups, no allocations, no image): the
planted instances have no network, so that is the truth. The requests are
recorded, so a test can show what Nova asked.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, cast

#: A version document per service, as its root answers it (discovery).
_VERSIONS = {
    "network": {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": "{root}/v2.0/"}]}]},
    "placement": {"versions": [{"id": "v1.0", "status": "CURRENT", "min_version": "1.0",
                                "max_version": "1.39", "links": [
                                    {"rel": "self", "href": "{root}/"}]}]},
    "image": {"versions": [{"id": "v2.16", "status": "CURRENT", "links": [
        {"rel": "self", "href": "{root}/v2/"}]}]},
}

_COLLECTION = re.compile(r"^/v2\.0/([a-z-]+?)(?:\.json)?$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests go to ``StandIns.requests``."""

    def _answer(self, status: int, body: object = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.path.startswith("/placement"):
            self.send_header("OpenStack-API-Version", "placement 1.39")
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str, str]:
        cast(StandIns, self.server).record(self.command, self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        service, _, rest = self.path.lstrip("/").partition("/")
        return service, "/" + rest.split("?", 1)[0]

    def do_GET(self) -> None:
        service, path = self._route()
        root = f"http://{self.headers.get('Host')}/{service}"
        if path == "/" and service in _VERSIONS:
            text = json.dumps(_VERSIONS[service]).replace("{root}", root)
            self._answer(200, json.loads(text))
            return
        if service == "network":
            collection = _COLLECTION.match(path)
            if collection:
                self._answer(200, {collection.group(1).replace("-", "_"): []})
                return
        if service == "placement" and path.startswith("/allocations/"):
            self._answer(200, {"allocations": {}})
            return
        self._answer(404, {"error": {"message": f"no {path} here (test stand-in)"}})

    def do_DELETE(self) -> None:
        self._route()
        self._answer(204)

    def do_PUT(self) -> None:
        self._route()
        self._answer(204)

    def do_POST(self) -> None:
        self._route()
        self._answer(404, {"error": {"message": "the test stand-in creates nothing"}})


class StandIns(ThreadingHTTPServer):
    """The three stand-ins on one port of 127.0.0.1, served by a thread."""

    daemon_threads = True
    allow_reuse_address = True
    services: ClassVar[list[str]] = ["network", "placement", "image"]

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{service}"

    def start(self) -> StandIns:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)
