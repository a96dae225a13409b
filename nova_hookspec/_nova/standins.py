"""Stand-ins for the Nova objects the hooks receive, and Nova's four callables.

Faithful to Nova's attribute names (``nova.objects.Instance``, ``Flavor``,
``RequestContext``, ``nova.network.model.NetworkInfo``), so a plugin that
works on them works on Nova's; used by the demo, by ``nova-hookspec check
--smoke`` and by the plugin authors' kit (:mod:`nova_hookspec.testing`),
which gives real ``nova.objects`` instead when Nova is importable.

The callables have Nova 34's signatures and do what a plugin can observe
(``API.create`` returns ``(instances, reservation_id)``, a build sets the
host, a delete marks the instance deleted); nothing else.
"""

from __future__ import annotations

import datetime as _dt
import uuid as _uuid
from typing import Any, Dict, List  # subscripted at run time: Python 3.8 has no dict[...]

from nova_hookspec.deferred import carry as _carry


def _new_uuid() -> str:
    return str(_uuid.uuid4())


class RequestContext:
    """Stands in for ``nova.context.RequestContext``."""

    def __init__(self, project_id: str = "demo-project", user_id: str = "demo-user",
                 is_admin: bool = False, **more: Any) -> None:
        self.project_id = project_id
        self.user_id = user_id
        self.project_name = "demo"
        self.user_name = "demo"
        self.is_admin = is_admin
        self.request_id = f"req-{_new_uuid()}"
        self.global_request_id: str | None = None
        self.roles = ["member"]
        self.auth_token: str | None = None
        self.remote_address = "192.0.2.1"
        self.read_deleted = "no"
        self.service_catalog: list[dict[str, Any]] = []
        self.__dict__.update(more)

    def to_dict(self) -> dict[str, Any]:
        """The context as a dict, as Nova's ``to_dict()`` gives it."""
        return {key: value for key, value in vars(self).items() if not key.startswith("_")}

    def elevated(self, read_deleted: str | None = None) -> RequestContext:
        """An admin copy, as Nova's ``elevated()``."""
        copy = RequestContext(**{**self.to_dict(), "is_admin": True})
        if read_deleted is not None:
            copy.read_deleted = read_deleted
        return copy

    def __repr__(self) -> str:
        return f"<RequestContext project_id={self.project_id!r} user_id={self.user_id!r}>"


class _DictCompat:
    """``obj['field']`` and ``obj.get('field')``, as Nova's dict-compatible objects."""

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def __setitem__(self, name: str, value: Any) -> None:
        setattr(self, name, value)

    def __contains__(self, name: str) -> bool:
        return hasattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        """The field, or ``default``."""
        return getattr(self, name, default)


class Flavor(_DictCompat):
    """Stands in for ``nova.objects.Flavor``."""

    def __init__(self, name: str = "m1.small", flavorid: str = "2", memory_mb: int = 2048,
                 vcpus: int = 1, root_gb: int = 20, ephemeral_gb: int = 0, swap: int = 0,
                 extra_specs: dict[str, str] | None = None, **more: Any) -> None:
        self.name = name
        self.flavorid = flavorid
        self.memory_mb = memory_mb
        self.vcpus = vcpus
        self.root_gb = root_gb
        self.ephemeral_gb = ephemeral_gb
        self.swap = swap
        self.extra_specs = dict(extra_specs or {})
        self.__dict__.update(more)

    def __repr__(self) -> str:
        return f"<Flavor name={self.name!r}>"


class Instance(_DictCompat):
    """Stands in for ``nova.objects.Instance``."""

    def __init__(self, hostname: str = "server-1", uuid: str | None = None,
                 display_name: str | None = None, project_id: str = "demo-project",
                 user_id: str = "demo-user", flavor: Flavor | None = None,
                 metadata: dict[str, str] | None = None, **more: Any) -> None:
        self.uuid = uuid or _new_uuid()
        self.hostname = hostname
        self.display_name = display_name or hostname
        self.project_id = project_id
        self.user_id = user_id
        self.flavor = flavor or Flavor()
        self.metadata = dict(metadata or {})
        self.system_metadata: dict[str, str] = {}
        self.host: str | None = None
        self.node: str | None = None
        self.vm_state = "building"
        self.task_state: str | None = "scheduling"
        self.power_state = 0
        self.availability_zone: str | None = None
        self.key_name: str | None = None
        self.image_ref = "cirros"
        self.launched_at: object = None
        self.access_ip_v4: str | None = None
        self.access_ip_v6: str | None = None
        self.info_cache: object = None
        self.deleted = False
        self.reservation_id: str | None = None
        # Nova's created_at: a naive datetime in UTC.
        self.created_at = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
        self.__dict__.update(more)

    def __repr__(self) -> str:
        return f"<Instance uuid={self.uuid!r} hostname={self.hostname!r}>"


class VIF(Dict[str, Any]):
    """Stands in for ``nova.network.model.VIF`` (a dict with helpers)."""

    def fixed_ips(self) -> list[dict[str, Any]]:
        """The fixed IPs of every subnet, as Nova's VIF gives them."""
        return [ip for subnet in self["network"]["subnets"] for ip in subnet["ips"]]


class NetworkInfo(List[VIF]):
    """Stands in for ``nova.network.model.NetworkInfo`` (a list of VIFs)."""

    def fixed_ips(self) -> list[dict[str, Any]]:
        """Every fixed IP of every VIF."""
        return [ip for vif in self for ip in vif.fixed_ips()]


def network_info(address: str = "192.0.2.10", network: str = "private") -> NetworkInfo:
    """A one-port network info with one fixed IPv4 address."""
    vif = VIF(
        id=_new_uuid(), address="fa:16:3e:00:00:01", active=True, type="ovs",
        network={"id": _new_uuid(), "label": network, "bridge": "br-int",
                 "subnets": [{"cidr": "192.0.2.0/24",
                              "ips": [{"address": address, "type": "fixed", "version": 4}]}]},
    )
    return NetworkInfo([vif])


class ComputeAPI:
    """Stands in for ``nova.compute.api.API`` (``create`` only).

    :param objects: what makes the instances it creates (stand-ins by default).
    """

    def __init__(self, objects: StandinObjects | None = None) -> None:
        self.objects = objects or StandinObjects()

    def create(
        self, context: Any, flavor: Any, image_href: Any, kernel_id: Any = None,
        ramdisk_id: Any = None, min_count: Any = None, max_count: Any = None,
        display_name: Any = None, display_description: Any = None, hostname: Any = None,
        key_name: Any = None, key_data: Any = None, security_groups: Any = None,
        availability_zone: Any = None, forced_host: Any = None, forced_node: Any = None,
        user_data: Any = None, metadata: Any = None, injected_files: Any = None,
        admin_password: Any = None, block_device_mapping: Any = None, access_ip_v4: Any = None,
        access_ip_v6: Any = None, requested_networks: Any = None, config_drive: Any = None,
        auto_disk_config: Any = None, scheduler_hints: Any = None, legacy_bdm: Any = True,
        check_server_group_quota: Any = False, tags: Any = None, supports_multiattach: Any = False,
        trusted_certs: Any = None, supports_port_resource_request: Any = False,
        requested_host: Any = None, requested_hypervisor_hostname: Any = None,
    ) -> tuple[list[Instance], str]:
        """Build ``max_count`` instances (named ``display_name``, ``-1``, ``-2`` ...)."""
        count = max_count or 1
        name = display_name or "server"
        names = [name] if count == 1 else [f"{name}-{n}" for n in range(1, count + 1)]
        instances = [
            self.objects.instance(n, flavor=flavor, metadata=metadata,
                                  project_id=getattr(context, "project_id", "demo-project"))
            for n in names
        ]
        reservation_id = f"r-{_new_uuid()[:8]}"
        for instance in instances:
            if isinstance(instance, Instance):
                instance.reservation_id = reservation_id
        return instances, reservation_id


class ComputeManager:
    """Stands in for ``nova.compute.manager.ComputeManager``."""

    host = "compute-1"

    def _do_build_and_run_instance(
        self, context: Any, instance: Any, image: Any, request_spec: Any, filter_properties: Any,
        admin_password: Any, injected_files: Any, requested_networks: Any, security_groups: Any,
        block_device_mapping: Any, node: Any = None, limits: Any = None, host_list: Any = None,
        accel_uuids: Any = None,
    ) -> str:
        """Put ``instance`` on this host; Nova's build result."""
        instance.host, instance.node = self.host, node
        instance.vm_state, instance.task_state = "active", None
        return "ACTIVE"

    def _delete_instance(self, context: Any, instance: Any, bdms: Any) -> None:
        """Mark ``instance`` deleted."""
        instance.deleted = True
        instance.vm_state = "deleted"


class NetworkAPI:
    """Stands in for ``nova.network.neutron.API``."""


def update_instance_cache_with_nw_info(
    impl: Any, context: Any, instance: Any, nw_info: Any = None
) -> None:
    """Stands in for ``nova.network.neutron.update_instance_cache_with_nw_info``."""
    if nw_info is not None:
        instance.info_cache = nw_info


class StandinObjects:
    """Makes the objects the hooks receive: the stand-ins above."""

    real = False

    def context(self, project_id: str = "demo-project", user_id: str = "demo-user") -> Any:
        """A request context."""
        return RequestContext(project_id=project_id, user_id=user_id)

    def flavor(self, name: str = "m1.small", memory_mb: int = 2048, vcpus: int = 1) -> Any:
        """A flavor."""
        return Flavor(name=name, memory_mb=memory_mb, vcpus=vcpus)

    def instance(self, hostname: str = "server-1", flavor: Any = None,
                 metadata: dict[str, str] | None = None, project_id: str = "demo-project") -> Any:
        """An instance."""
        return Instance(hostname, flavor=flavor or self.flavor(), metadata=metadata,
                        project_id=project_id)

    def network_info(self, address: str = "192.0.2.10") -> Any:
        """Network info with one port and one fixed IPv4 address."""
        return network_info(address)


class NovaObjects(StandinObjects):
    """Makes the same objects from the importable Nova (``nova.objects``)."""

    real = True

    def __init__(self) -> None:
        from nova import objects

        objects.register_all()
        self._objects = objects

    def context(self, project_id: str = "demo-project", user_id: str = "demo-user") -> Any:
        from nova import context

        # is_admin given: no policy check, which would need Nova's configuration.
        return context.RequestContext(user_id=user_id, project_id=project_id, is_admin=False)

    def flavor(self, name: str = "m1.small", memory_mb: int = 2048, vcpus: int = 1) -> Any:
        return self._objects.Flavor(
            name=name, flavorid=name, memory_mb=memory_mb, vcpus=vcpus, root_gb=20,
            ephemeral_gb=0, swap=0, extra_specs={})

    def instance(self, hostname: str = "server-1", flavor: Any = None,
                 metadata: dict[str, str] | None = None, project_id: str = "demo-project") -> Any:
        return self._objects.Instance(
            uuid=_new_uuid(), hostname=hostname, display_name=hostname, project_id=project_id,
            user_id="demo-user", flavor=flavor or self.flavor(), metadata=dict(metadata or {}),
            system_metadata={}, host=None, node=None, vm_state="building",
            task_state="scheduling", availability_zone=None, key_name=None, image_ref="cirros",
            launched_at=None, access_ip_v4=None, access_ip_v6=None)

    def network_info(self, address: str = "192.0.2.10") -> Any:
        from nova.network import model

        subnet = model.Subnet(cidr="192.0.2.0/24", ips=[model.FixedIP(address=address)])
        network = model.Network(id=_new_uuid(), label="private", bridge="br-int",
                                subnets=[subnet])
        return model.NetworkInfo([model.VIF(id=_new_uuid(), address="fa:16:3e:00:00:01",
                                            network=network, type="ovs", active=True)])


def nova_objects(real: bool | None = None) -> StandinObjects:
    """Real ``nova.objects`` when Nova is importable (or ``real=True``), else stand-ins."""
    if real is None:
        import importlib.util

        real = importlib.util.find_spec("nova") is not None and \
            importlib.util.find_spec("nova.objects") is not None
    return NovaObjects() if real else StandinObjects()


def sample_calls(
    objects: StandinObjects | None = None,
) -> dict[str, tuple[Any, tuple[Any, ...], dict[str, Any], Any]]:
    """For each typed point: the stand-in callable, its arguments as Nova passes
    them, and a result as Nova returns it (objects from ``objects``)."""
    made = objects or StandinObjects()
    context = made.context()
    flavor = made.flavor()
    instance = made.instance("web-1", flavor=flavor)
    api, manager = ComputeAPI(made), ComputeManager()
    return {
        "create_instance": (
            ComputeAPI.create, (api, context, flavor, "cirros"),
            {"display_name": "web-1", "metadata": {"team": "blue"}, "max_count": 1},
            ([instance], "r-0001"),
        ),
        "build_and_run_instance": (
            ComputeManager._do_build_and_run_instance,
            (manager, context, instance, {"id": "cirros"}, None, {}, None, [], None,
             ["default"], None),
            {"node": "node-1"}, "ACTIVE",
        ),
        "delete_instance": (ComputeManager._delete_instance, (manager, context, instance, []),
                            {}, None),
        "instance_network_info": (
            update_instance_cache_with_nw_info,
            (NetworkAPI(), context, instance, made.network_info()), {}, None,
        ),
    }


def _restore(cls: type) -> Any:
    def restore(state: dict[str, Any]) -> Any:
        obj: Any = object.__new__(cls)
        obj.__dict__.update(state)
        return obj

    return restore


# Deferred observers get the stand-ins rebuilt in the worker, as they get Nova's objects.
_carry.register(RequestContext, lambda c: _carry.scrub_context(vars(c)), _restore(RequestContext))
_carry.register(Flavor, lambda f: dict(vars(f)), _restore(Flavor))
_carry.register(Instance, lambda i: dict(vars(i)), _restore(Instance))
_carry.register(VIF, dict, VIF)
_carry.register(NetworkInfo, list, NetworkInfo)
