"""Classic nova.hooks classes that log Nova's four hook points.

Written as for Nova's own ``nova/hooks.py``: ``pre(*args, **kwargs)`` runs
before the hooked call, ``post(rv, *args, **kwargs)`` after it.
"""

import logging
from typing import Any

LOG = logging.getLogger(__name__)


def _name(obj: Any) -> str:
    for attr in ("hostname", "display_name", "uuid"):
        value = getattr(obj, attr, None)
        if value:
            return str(value)
    return repr(obj)


class CreateInstance:
    """nova-api: ``API.create(self, context, flavor, image_href, ...)``."""

    def pre(self, *args: Any, **kwargs: Any) -> None:
        LOG.info("[PRE] create_instance %s (%s)", kwargs.get("display_name"), type(args[0]).__name__)

    def post(self, rv: Any, *args: Any, **kwargs: Any) -> None:
        instances, reservation_id = rv
        LOG.info("[POST] create_instance %s: %s", reservation_id,
                 ", ".join(_name(i) for i in instances))


class BuildInstance:
    """nova-compute: ``_do_build_and_run_instance(self, context, instance, ...)``."""

    def pre(self, *args: Any, **kwargs: Any) -> None:
        LOG.info("[PRE] build_instance %s on node %s", _name(args[2]), kwargs.get("node"))

    def post(self, rv: Any, *args: Any, **kwargs: Any) -> None:
        LOG.info("[POST] build_instance %s: %s", _name(args[2]), rv)


class DeleteInstance:
    """nova-compute: ``_delete_instance(self, context, instance, bdms)``."""

    def pre(self, *args: Any, **kwargs: Any) -> None:
        LOG.info("[PRE] delete_instance %s", _name(args[2]))

    def post(self, rv: Any, *args: Any, **kwargs: Any) -> None:
        LOG.info("[POST] delete_instance %s", _name(args[2]))


class NetworkInfo:
    """``update_instance_cache_with_nw_info(impl, context, instance, nw_info=None)``."""

    def post(self, rv: Any, *args: Any, **kwargs: Any) -> None:
        nw_info = args[3] if len(args) > 3 else kwargs.get("nw_info")
        LOG.info("[POST] instance_network_info %s: %d VIF(s)", _name(args[2]), len(nw_info or ()))
