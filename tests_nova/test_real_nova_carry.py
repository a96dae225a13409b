"""A deferred observer's arguments with this release's real Nova objects.

What the hooked call writes to the journal (:mod:`nova_hookspec.deferred.carry`)
is rebuilt into the same Nova classes with the same field values, and
without secrets: the context's auth token and service catalog are not
written, ``admin_password`` never is.
"""

from __future__ import annotations

import contextlib
import json

import nova.conf  # isort: skip
from nova import context as nova_context  # isort: skip
from nova import objects  # isort: skip
from nova.network import model as network_model  # isort: skip

from nova_hookspec.deferred import carry

objects.register_all()
# A RequestContext reads options: parse none, as Nova's own tests do (unless parsed already).
with contextlib.suppress(Exception):
    nova.conf.CONF([], project="nova", default_config_files=[])

UUID = "9b5e0a77-8f55-4c3c-9d6e-2f1f6c7b5a01"


def round_trip(**values: object) -> dict[str, object]:
    text = carry.dumps(values)
    json.loads(text)  # what the journal holds is JSON
    return carry.loads(text)


def test_instance_and_flavor_come_back_as_nova_objects_with_their_fields() -> None:
    flavor = objects.Flavor(name="m1.small", flavorid="2", memory_mb=2048, vcpus=1,
                            root_gb=20, ephemeral_gb=0, swap=0, extra_specs={"hw:a": "b"})
    instance = objects.Instance(uuid=UUID, hostname="web-1", display_name="web-1",
                                project_id="p-1", metadata={"team": "blue"}, flavor=flavor)
    got = round_trip(instance=instance, result=([instance], "r-1"))
    rebuilt = got["instance"]
    assert isinstance(rebuilt, objects.Instance)
    assert (rebuilt.uuid, rebuilt.hostname, rebuilt.metadata) == (UUID, "web-1", {"team": "blue"})
    assert isinstance(rebuilt.flavor, objects.Flavor)
    assert rebuilt.flavor.extra_specs == {"hw:a": "b"}
    instances, reservation = got["result"]  # type: ignore[misc]
    assert reservation == "r-1"
    assert isinstance(instances[0], objects.Instance)


def test_the_context_comes_back_without_its_token_and_catalog() -> None:
    context = nova_context.RequestContext(user_id="u-1", project_id="p-1",
                                          auth_token="TOKEN-s3cr3t",
                                          service_catalog=[{"type": "network",
                                                            "endpoints": ["neutron-url"]}])
    assert context.service_catalog  # Nova keeps a network entry
    text = carry.dumps({"context": context})
    assert "s3cr3t" not in text
    assert "neutron-url" not in text
    rebuilt = carry.loads(text)["context"]
    assert isinstance(rebuilt, nova_context.RequestContext)
    assert (rebuilt.user_id, rebuilt.project_id) == ("u-1", "p-1")
    assert rebuilt.auth_token is None
    assert not rebuilt.service_catalog


def test_network_info_comes_back_through_its_json_model() -> None:
    vif = network_model.VIF(
        id="v-1", address="fa:16:3e:00:00:01",
        network=network_model.Network(id="n-1", label="private", subnets=[
            network_model.Subnet(cidr="192.0.2.0/24", ips=[
                network_model.FixedIP(address="192.0.2.10")])]))
    got = round_trip(nw_info=network_model.NetworkInfo([vif]))["nw_info"]
    assert isinstance(got, network_model.NetworkInfo)
    assert [ip["address"] for ip in got.fixed_ips()] == ["192.0.2.10"]


def test_admin_password_is_never_written() -> None:
    text = carry.dumps({"admin_password": "PASS-w0rd",
                        "kwargs": {"admin_password": "PASS-w0rd", "min_count": 1}})
    assert "w0rd" not in text
    got = carry.loads(text)
    assert got["admin_password"] is None
    assert got["kwargs"] == {"admin_password": None, "min_count": 1}


def test_block_device_mappings_come_back_as_a_list_object() -> None:
    bdms = objects.BlockDeviceMappingList(objects=[
        objects.BlockDeviceMapping(instance_uuid=UUID, source_type="image",
                                   destination_type="local", boot_index=0)])
    got = round_trip(bdms=bdms)["bdms"]
    assert isinstance(got, objects.BlockDeviceMappingList)
    assert got[0].instance_uuid == UUID


def test_a_jobs_lane_and_created_at_come_from_novas_instance() -> None:
    """Across hosts a job goes to the lane of its instance (its UUID, whatever else is
    empty: a reservation_id is not), and a delete carries when the instance was made
    (the bound of its wait for the create)."""
    import datetime

    from nova_hookspec.deferred import enqueue

    made = datetime.datetime(2026, 12, 1, 6, 0, 0, tzinfo=datetime.timezone.utc)
    instance = objects.Instance(uuid=UUID, hostname="web-1", reservation_id="r-77",
                                created_at=made)
    assert enqueue.meta({"instance": instance}, [UUID]) == {
        "lane": UUID, "created_at": made.timestamp()}
    rebuilt = round_trip(instance=instance)["instance"]
    assert enqueue.meta({"instance": rebuilt}, [UUID]) == {
        "lane": UUID, "created_at": made.timestamp()}
    # API.create's result names the reservation: its job goes by its first instance
    # all the same; an instance with no field loaded (Nova raises when it is read) is
    # routed by its UUID and waits for nothing.
    assert enqueue.meta({"result": ([instance], "r-77")}, [UUID])["lane"] == UUID
    bare = objects.Instance(uuid=UUID)
    assert enqueue.meta({"instance": bare}, [UUID]) == {"lane": UUID}


def test_secrets_nested_in_the_context_and_the_instance_are_never_written() -> None:
    """A hostile review: nested context keys, an instance's metadata and the encrypted
    admin password Nova keeps in system_metadata reached the journal."""
    context = nova_context.RequestContext(user_id="u-1", project_id="p-1")
    instance = objects.Instance(uuid=UUID, hostname="web-1",
                                metadata={"team": "blue", "password": "META-s3cr3t"},
                                system_metadata={"password_0": "ENCRYPTED-s3cr3t",
                                                 "image_os": "cirros"})
    text = carry.dumps({"context": context, "instance": instance,
                        "kwargs": {"headers": {"X-Auth-Token": "HDR-s3cr3t"},
                                   "api_key": "KEY-s3cr3t", "min_count": 1}})
    assert "s3cr3t" not in text
    got = carry.loads(text)
    rebuilt = got["instance"]
    assert rebuilt.metadata == {"team": "blue"}
    assert rebuilt.system_metadata == {"image_os": "cirros"}
    assert got["kwargs"] == {"headers": {"X-Auth-Token": None}, "api_key": None, "min_count": 1}
