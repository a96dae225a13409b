"""WSGI entry for nova-api with the hook points attached.

uWSGI::

    uwsgi --http-socket :8774 --module nova_hookspec.wsgi:application

mod_wsgi (a script file named by ``WSGIScriptAlias``)::

    from nova_hookspec.wsgi import init_application
    application = init_application()

Nova builds its own application exactly as its own WSGI entry would
(``nova.wsgi.osapi_compute`` on current Nova, ``nova.api.openstack.compute.wsgi``
on Nova <= 21); the hook points are attached afterwards, which reaches every
request since Nova resolves the hooked methods at call time.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from nova_hookspec._nova.attach import attach_nova

_lock = threading.Lock()
_application: Any = None


def init_application() -> Any:
    """Build Nova's compute API WSGI application and attach the hook points."""
    global _application
    with _lock:
        if _application is None:
            try:
                module = importlib.import_module("nova.wsgi.osapi_compute")
                app = module.application
            except ImportError:
                module = importlib.import_module("nova.api.openstack.compute.wsgi")
                app = module.init_application()
            attach_nova()
            _application = app
    return _application


def __getattr__(name: str) -> Any:
    if name == "application":
        return init_application()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
