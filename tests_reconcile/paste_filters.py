"""The test's own paste filters in Nova's shipped ``api-paste.ini``.

Why: Nova 33 removed ``noauth2``, and the test runs no Keystone. ``identity``
takes ``authtoken``'s place in the pipeline and does what keystonemiddleware
does for a valid token (drops the identity headers a client sent, sets the
``X-*`` headers of a confirmed admin identity); Nova's own ``keystonecontext``
then builds the request context from them, as in production.

``fault`` makes the API fail half way through a listing, for the "a partial
listing aborts the pass" tests: while the JSON file named by the
``NOVA_API_FAULT_FILE`` variable exists, it counts the server listings
(``GET .../servers`` and ``.../servers/detail``, every page) and answers the
``fail_from``-th and later ones with ``status`` (default 500) and a Nova-style
fault body. The count lives in the file (under a lock), so it holds across
the WSGI server's worker processes. No file, no effect.
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import Any, Callable, Dict, Iterable

Environ = Dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]

#: The identity every request gets: an admin of the ``admin`` project.
ADMIN = {
    "HTTP_X_IDENTITY_STATUS": "Confirmed",
    "HTTP_X_USER_ID": "novaapi-admin",
    "HTTP_X_USER_NAME": "admin",
    "HTTP_X_USER_DOMAIN_ID": "default",
    "HTTP_X_USER_DOMAIN_NAME": "Default",
    "HTTP_X_PROJECT_ID": "novaapi-admin-project",
    "HTTP_X_PROJECT_NAME": "admin",
    "HTTP_X_PROJECT_DOMAIN_ID": "default",
    "HTTP_X_PROJECT_DOMAIN_NAME": "Default",
    "HTTP_X_ROLES": "admin,member,reader",
    # Nova passes the token on to Neutron and Glance (the stand-ins ignore it).
    "HTTP_X_AUTH_TOKEN": "novaapi-test-token",
}

#: The identity headers keystonemiddleware removes from a client's request.
_STRIPPED = ("HTTP_X_IDENTITY_STATUS", "HTTP_X_SERVICE_IDENTITY_STATUS", "HTTP_X_USER_ID",
             "HTTP_X_USER_NAME", "HTTP_X_PROJECT_ID", "HTTP_X_PROJECT_NAME", "HTTP_X_ROLES",
             "HTTP_X_SERVICE_CATALOG", "HTTP_X_TENANT_ID", "HTTP_X_TENANT_NAME",
             "HTTP_X_USER", "HTTP_X_TENANT", "HTTP_X_ROLE", "HTTP_X_IS_ADMIN_PROJECT")


def identity_factory(global_conf: dict[str, str], **local_conf: str) -> Callable[[App], App]:
    """paste.filter_factory of the stand-in for keystonemiddleware's ``authtoken``."""

    def wrap(app: App) -> App:
        def identity(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            for name in _STRIPPED:
                environ.pop(name, None)
            environ.update(ADMIN)
            return app(environ, start_response)

        return identity

    return wrap


def _is_listing(environ: Environ) -> bool:
    path = environ.get("PATH_INFO", "").rstrip("/")
    return environ.get("REQUEST_METHOD") == "GET" and (
        path.endswith("/servers") or path.endswith("/servers/detail"))


def _fails(path: str) -> int:
    """The status to answer with (0: pass), the listing counted in the file."""
    try:
        handle = open(path, "r+")  # noqa: SIM115 - held for the lock below
    except FileNotFoundError:
        return 0
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        plan = json.loads(handle.read() or "{}")
        plan["seen"] = int(plan.get("seen", 0)) + 1
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(plan))
        if plan["seen"] >= int(plan.get("fail_from", 1)):
            return int(plan.get("status", 500))
    return 0


def fault_factory(global_conf: dict[str, str], **local_conf: str) -> Callable[[App], App]:
    """paste.filter_factory of the switchable listing fault."""

    def wrap(app: App) -> App:
        def fault(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            path = os.environ.get("NOVA_API_FAULT_FILE")
            status = _fails(path) if path and _is_listing(environ) else 0
            if not status:
                return app(environ, start_response)
            body = json.dumps({"computeFault": {
                "code": status, "message": "novaapi test: listing failed on purpose"}}).encode()
            start_response(f"{status} Injected Fault", [
                ("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]

        return fault

    return wrap
