"""The typed arguments of each hook point: description, default, renames.

This catalogue is the single source for three things: the ``:param:`` lines
of the hookspec docstrings, the default a typed plugin gets when the hooked
Nova callable did not receive an argument, and the names older Nova releases
used for an argument (``instance_type`` became ``flavor``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Argument:
    """One typed hook argument.

    :param name: the name a hookimpl asks for.
    :param doc: what it holds (reST, one paragraph).
    :param default: what a plugin gets when the hooked callable did not
        receive it and has no default of its own.
    """

    name: str
    doc: str
    default: object = None


def _args(*items: tuple[str, str] | tuple[str, str, object]) -> tuple[Argument, ...]:
    return tuple(Argument(*item) for item in items)


_CONTEXT = ("context", "The request context (``nova.context.RequestContext``).")
_INSTANCE = ("instance", "The instance (``nova.objects.Instance``).")

#: Arguments every hook has, after the typed ones.
GENERIC: Final = _args(
    (
        "args",
        "The positional arguments exactly as the hooked callable received them, "
        "the hooked object (``self``/``impl``) first. The very objects, never copies.",
    ),
    (
        "kwargs",
        "The keyword arguments exactly as the hooked callable received them. "
        "The very dict the callable sees: changing it in a ``*_pre`` observer "
        "changes the call.",
    ),
)

#: The ``result`` argument of every ``*_post`` hook.
RESULT: Final = Argument(
    "result",
    "What the hooked callable returned, after every wrapper of the call phase "
    "had its say.",
)

CREATE_INSTANCE: Final = _args(
    ("compute_api", "The ``nova.compute.api.API`` whose ``create`` was called (``self``)."),
    _CONTEXT,
    (
        "flavor",
        "The flavor (``nova.objects.Flavor``). Nova 21 called this argument "
        "``instance_type``; it arrives here as ``flavor`` on every release.",
    ),
    ("image_href", "The image UUID or href, or ``None`` to boot from volume."),
    ("kernel_id", "The kernel image id, if any."),
    ("ramdisk_id", "The ramdisk image id, if any."),
    ("min_count", "The minimum number of instances to build."),
    ("max_count", "The maximum number of instances to build."),
    ("display_name", "The requested server name."),
    ("display_description", "The requested server description."),
    ("hostname", "The requested hostname (passed from Nova 25 on; ``None`` on 21)."),
    ("key_name", "The name of the key pair to inject."),
    ("key_data", "The public key of that key pair."),
    ("security_groups", "The requested security group names."),
    ("availability_zone", "The requested availability zone."),
    ("forced_host", "The host the request forces, if any."),
    ("forced_node", "The node the request forces, if any."),
    ("user_data", "The user data (base64 text)."),
    (
        "metadata",
        "The instance metadata dict. Observers may add keys in place in the "
        "``*_pre`` phase.",
    ),
    ("injected_files", "Files to inject, a list of ``(path, contents)``."),
    ("admin_password", "The requested administrator password."),
    ("block_device_mapping", "The block device mapping."),
    ("access_ip_v4", "The requested IPv4 access address."),
    ("access_ip_v6", "The requested IPv6 access address."),
    ("requested_networks", "The requested networks (``nova.objects.NetworkRequestList``)."),
    ("config_drive", "Whether a config drive was requested."),
    ("auto_disk_config", "Whether the disk is configured automatically."),
    ("scheduler_hints", "The scheduler hints dict."),
    ("legacy_bdm", "Whether ``block_device_mapping`` is in the legacy format.", True),
    (
        "shutdown_terminate",
        "Whether a guest shutdown deletes the instance (passed up to Nova 33; "
        "``False`` on 34).",
        False,
    ),
    ("check_server_group_quota", "Whether the server group quota is checked.", False),
    ("tags", "The requested server tags."),
    ("supports_multiattach", "Whether the caller supports multi-attach volumes.", False),
    ("trusted_certs", "The trusted image certificate ids."),
    (
        "supports_port_resource_request",
        "Whether the caller supports ports with resource requests.",
        False,
    ),
    ("requested_host", "The host requested by an administrator."),
    ("requested_hypervisor_hostname", "The hypervisor hostname requested by an administrator."),
)

BUILD_AND_RUN_INSTANCE: Final = _args(
    ("compute_manager", "The ``nova.compute.manager.ComputeManager`` building the instance (``self``)."),
    _CONTEXT,
    _INSTANCE,
    ("image", "The image metadata dict."),
    ("request_spec", "The scheduler's request spec."),
    ("filter_properties", "The scheduler filter properties dict."),
    ("admin_password", "The administrator password to set."),
    ("injected_files", "Files to inject, a list of ``(path, contents)``."),
    ("requested_networks", "The requested networks."),
    ("security_groups", "The security group names."),
    ("block_device_mapping", "The block device mappings."),
    ("node", "The compute node name."),
    ("limits", "The resource limits from the scheduler."),
    ("host_list", "Alternate hosts for a reschedule."),
    ("accel_uuids", "The accelerator request UUIDs (Cyborg)."),
)

DELETE_INSTANCE: Final = _args(
    ("compute_manager", "The ``nova.compute.manager.ComputeManager`` deleting the instance (``self``)."),
    _CONTEXT,
    _INSTANCE,
    ("bdms", "The instance's block device mappings (``BlockDeviceMappingList``)."),
)

INSTANCE_NETWORK_INFO: Final = _args(
    ("network_api", "The network API (``nova.network.neutron.API``), the function's ``impl`` argument."),
    _CONTEXT,
    _INSTANCE,
    ("nw_info", "The new network info (``nova.network.model.NetworkInfo``), or ``None`` to refresh it."),
)

#: Parameter names of older (or newer) Nova releases, mapped to the spec name.
RENAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "create_instance": {"instance_type": "flavor"},
}


def render_params(arguments: tuple[Argument, ...], *, with_result: bool) -> str:
    """The ``:param:`` block of a hookspec docstring."""
    items = (*((RESULT,) if with_result else ()), *arguments, *GENERIC)
    lines = []
    for arg in items:
        default = "" if arg in GENERIC or arg is RESULT else f" Default: ``{arg.default!r}``."
        lines.append(f":param {arg.name}: {arg.doc}{default}")
    return "\n".join(lines)
