"""Which keys the job writer treats as secrets (:mod:`nova_hookspec.deferred.carry`).

Found by a hostile review: ``adminPass`` (Nova's API name for the admin
password), ``os_pwd``, ``access_key`` and ``passphrase`` reached the spool
inside an instance's metadata and a call's ``kwargs``. The rule is by words
of the name (any case, camelCase too), and Nova's ordinary names around keys
and passes stay: an observer needs ``key_name`` (the keypair), ``key_data``
(its public key), ``keypairs``.
"""

from __future__ import annotations

import json

import pytest

from nova_hookspec._nova.standins import Instance
from nova_hookspec.deferred import carry

SECRET = ["adminPass", "admin_pass", "ADMINPASS_PWD", "os_pwd", "OS_PWD", "access_key",
          "AccessKey", "accessKey", "aws_access_key_id_secret", "passphrase", "PassPhrase",
          "ssh_passphrase", "encryption-key", "masterKey", "password", "db.passwd",
          "X-Auth-Token", "api_key"]
ORDINARY = ["key_name", "key_data", "keypairs", "keys", "key", "public_key", "publicKey",
            "ephemeral_key_uuid", "pci_passthrough:alias", "passthrough", "hostname",
            "access_ip_v4", "image_key_type", "compass", "bypass_cache", "team"]


@pytest.mark.parametrize("where", ["metadata", "kwargs"])
def test_secret_keys_are_scrubbed_and_ordinary_ones_kept(where: str) -> None:
    values = {name: f"{name}-s3cr3t" for name in SECRET}
    values.update({name: f"{name}-plain" for name in ORDINARY})
    if where == "metadata":
        carried = {"instance": Instance("web-1", metadata=values)}
    else:
        carried = {"kwargs": dict(values)}
    text = carry.dumps(carried)
    assert "s3cr3t" not in text, [n for n in SECRET if f"{n}-s3cr3t" in text]
    got = carry.loads(text)
    found = got["instance"].metadata if where == "metadata" else got["kwargs"]
    assert {name: found[name] for name in ORDINARY} == {n: f"{n}-plain" for n in ORDINARY}
    assert all(found[name] is None for name in SECRET)  # a dict's secret keys: None


def test_a_nova_objects_keypair_fields_are_carried() -> None:
    """An instance's own fields named after keys stay (the keypair an observer reads)."""
    instance = Instance("web-1")
    instance.key_name = "ops-keypair"
    vars(instance)["key_data"] = "ssh-ed25519 AAAA public"
    vars(instance)["system_metadata"] = {"image_os_admin_user": "root", "adminPass": "s3cr3t"}
    text = carry.dumps({"instance": instance})
    assert "s3cr3t" not in text
    got = carry.loads(text)["instance"]
    assert (got.key_name, got.key_data) == ("ops-keypair", "ssh-ed25519 AAAA public")
    assert json.loads(json.dumps(got.system_metadata)).get("image_os_admin_user") == "root"


def test_a_payload_naming_another_module_for_a_context_imports_nothing() -> None:
    """A job's payload names the class of a carried context or network info: only one of
    Nova's is loaded for it, so a message cannot make the worker import any module."""
    import json
    import sys

    from nova_hookspec.deferred import carry

    sys.modules.pop("this", None)
    for kind, method in (("ctx", "from_dict"), ("nw", "hydrate")):
        payload = json.dumps({"context": {"~": kind, "c": f"this:{method}", "v": {}}})
        with pytest.raises(ValueError, match="must come from nova"):
            carry.loads(payload)
    assert "this" not in sys.modules
