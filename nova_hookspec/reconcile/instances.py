"""The instance a reconcile job carries: a server of Nova's API as a Nova object.

A plugin's observers get what a hooked call would give them: a real
``nova.objects.Instance`` when Nova is importable, the project's stand-in
(:mod:`nova_hookspec._nova.standins`) otherwise, with the fields Nova's API
returned (UUID, names, project and user, host and node, states, times,
reservation id, metadata). A field Nova's object refuses stays unset.

For a stale entry whose deleted instance Nova no longer lists (purged, or
deleted before the lookback), the last state is unknown: the instance has
its UUID and ``deleted = True`` only.
"""

from __future__ import annotations

import datetime
from typing import Any

from nova_hookspec._nova import standins
from nova_hookspec.reconcile.nova import parse_time


def fields(server: dict[str, Any]) -> dict[str, Any]:
    """The ``nova.objects.Instance`` fields of ``server`` (a server of the listing)."""
    image = server.get("image")
    vm_state = server.get("OS-EXT-STS:vm_state")
    found: dict[str, Any] = {
        "uuid": str(server["id"]),
        "display_name": server.get("name"),
        "hostname": server.get("OS-EXT-SRV-ATTR:hostname") or server.get("name"),
        "project_id": server.get("tenant_id"),
        "user_id": server.get("user_id"),
        "host": server.get("OS-EXT-SRV-ATTR:host"),
        "node": server.get("OS-EXT-SRV-ATTR:hypervisor_hostname"),
        "vm_state": vm_state,
        "task_state": server.get("OS-EXT-STS:task_state"),
        "power_state": server.get("OS-EXT-STS:power_state"),
        "availability_zone": server.get("OS-EXT-AZ:availability_zone"),
        "key_name": server.get("key_name"),
        "reservation_id": server.get("OS-EXT-SRV-ATTR:reservation_id"),
        "launch_index": server.get("OS-EXT-SRV-ATTR:launch_index"),
        "metadata": dict(server.get("metadata") or {}),
        "access_ip_v4": server.get("accessIPv4") or None,
        "access_ip_v6": server.get("accessIPv6") or None,
        "image_ref": image.get("id") if isinstance(image, dict) else None,
        "created_at": parse_time(server.get("created")),
        "updated_at": parse_time(server.get("updated")),
        "launched_at": parse_time(server.get("OS-SRV-USG:launched_at")),
        "terminated_at": parse_time(server.get("OS-SRV-USG:terminated_at")),
        "deleted": server.get("status") == "DELETED" or vm_state == "deleted",
    }
    return found


def _naive(value: Any) -> Any:
    """Nova's stand-ins hold naive UTC datetimes, as Nova's database rows do."""
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


class Builder:
    """Makes the instance and the request context of a reconcile job.

    :param real: real ``nova.objects`` (``None``: when Nova is importable).
    """

    def __init__(self, real: bool | None = None) -> None:
        self.objects = standins.nova_objects(real)

    @property
    def real(self) -> bool:
        return bool(self.objects.real)

    def instance(self, values: dict[str, Any]) -> Any:
        """An instance with ``values`` (:func:`fields`, or just ``uuid`` and ``deleted``)."""
        if not self.real:
            given = {key: _naive(value) for key, value in values.items()}
            return standins.Instance(hostname=given.pop("hostname", None) or "",
                                     flavor=None, **given)
        from nova import objects

        instance = objects.Instance()
        for key, value in values.items():
            if value is None:
                continue
            try:
                setattr(instance, key, value)
            except (ValueError, TypeError, AttributeError):
                continue  # a field this Nova release types otherwise, or lacks: left unset
        instance.obj_reset_changes()
        return instance

    def context(self, instance: Any) -> Any:
        """An admin request context of the instance's project, as a hooked call has one."""
        project = getattr(instance, "project_id", None) if self._set(instance, "project_id") \
            else None
        user = getattr(instance, "user_id", None) if self._set(instance, "user_id") else None
        if not self.real:
            return standins.RequestContext(project_id=str(project or ""), user_id=str(user or ""),
                                           is_admin=True)
        from nova import context

        return context.RequestContext(user_id=user, project_id=project, is_admin=True)

    @staticmethod
    def _set(instance: Any, name: str) -> bool:
        check = getattr(instance, "obj_attr_is_set", None)
        return bool(check(name)) if callable(check) else hasattr(instance, name)
