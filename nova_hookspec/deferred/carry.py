"""The arguments of a deferred observer: written without secrets, rebuilt in the worker.

What a deferred observer asks for is written, when the hooked call returns,
as JSON in tagged forms, and rebuilt in the worker:

* JSON values as they are; tuples, lists and dicts element by element;
* Nova objects (``oslo.versionedobjects``) through their primitives, Nova's
  own serializer (``obj_to_primitive`` / ``obj_from_primitive``);
* the request context through its dict form (``to_dict`` / ``from_dict``),
  **without** ``auth_token``, ``service_catalog`` or any key naming a token,
  password (``adminPass``, ``passphrase``, ``os_pwd``), secret, API, access or
  private key (a name ending in the word *key*, a public one aside) or
  credential, at any depth (a token would have expired by then anyway);
  Nova objects' primitives the same way (an instance's
  ``metadata['password']``, the encrypted admin password Nova keeps in
  ``system_metadata['password_0']``); a dict's such keys arrive as ``None``;
* network info through its JSON model (``json()`` / ``hydrate``);
* classes registered with :func:`register` (the stand-ins of the demo and
  the kit register themselves).

``admin_password`` is never written: as an argument, a key of ``kwargs``
or (blanked by the job writer, :mod:`.enqueue`) an item of ``args``, it
reaches a deferred observer as ``None``. The hooked object
(``compute_api``, ``compute_manager``, ``network_api``; ``args[0]``) cannot
be carried: asking for it is refused at registration, and ``args[0]``
arrives as ``None``.
"""

from __future__ import annotations

import datetime
import importlib
import json
import re
from collections.abc import Mapping
from typing import Any, Callable

#: Hook arguments a deferred observer may not ask for: the hooked object.
NOT_CARRIED = frozenset({"compute_api", "compute_manager", "network_api"})

#: Arguments (and ``kwargs`` keys) never written: they reach the worker as ``None``.
SECRET_ARGUMENTS = frozenset({"admin_password"})

#: A key naming a secret, at any depth of a context, a Nova object's primitive or a
#: dict: tokens, passwords (``password_0``: where Nova keeps an encrypted admin
#: password in ``system_metadata``), secrets, API and private keys, credentials.
_SECRET_KEY = re.compile(
    r"token|passw|pwd|secret|service_catalog|auth_plugin|api_?key|access_?key|private_?key|"
    r"credential", re.IGNORECASE)
#: The words of a key: ``snake_case``, ``kebab-case``, ``camelCase``, ``ALLCAPS``.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
#: Words that name a password on their own (Nova's API calls the admin password
#: ``adminPass``); ``passthrough`` (``pci_passthrough:alias``) is not one.
_PASS_WORDS = ("pass", "passwd", "passphrase", "passcode")


def _secret(key: object) -> bool:
    """Whether ``key`` names a secret: one of :data:`_SECRET_KEY`, a password word, or a
    name ending in the word ``key`` (``access_key``, ``encryptionKey``, ``master-key``)
    other than a public one. Nova's ordinary names stay: ``key_name`` (the keypair's
    name), ``key_data`` (its public key), ``keypairs``, ``keys``, ``key``,
    ``ephemeral_key_uuid``, ``public_key``."""
    if not isinstance(key, str):
        return False
    if _SECRET_KEY.search(key) is not None:
        return True
    words = [word.lower() for word in _WORD.findall(key)]
    if any(word in _PASS_WORDS for word in words):
        return True
    return len(words) > 1 and words[-1] == "key" and words[-2] != "public"


def scrub(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists) without any key naming a secret, at any depth."""
    if isinstance(value, Mapping):
        return {k: scrub(v) for k, v in value.items() if not _secret(k)}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value

_registered: dict[str, tuple[type, Callable[[Any], Any], Callable[[Any], Any]]] = {}


class NotCarriable(TypeError):  # noqa: N818 - a kind of TypeError
    """A value a deferred observer asked for cannot be written to the journal."""


def register(cls: type, to_state: Callable[[Any], Any], from_state: Callable[[Any], Any]) -> None:
    """Carry instances of ``cls`` as ``to_state(obj)``, rebuilt with ``from_state(state)``."""
    _registered[_path(cls)] = (cls, to_state, from_state)


def _path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


#: Where the classes of Nova's own carried kinds (a context, network info) may come
#: from: a payload names its class, and the worker imports nothing else for it.
NOVA_MODULES = ("nova.", "oslo_context.")


def _load(path: str, within: tuple[str, ...] = ()) -> Any:
    """The class at ``path`` (``module:qualname``); with ``within``, only from a module
    under one of those prefixes (a message naming another is refused, not imported)."""
    module, _, name = path.partition(":")
    if within and not module.startswith(within):
        raise ValueError(f"a carried class must come from {', '.join(within)}: {path!r}")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def scrub_context(values: Mapping[str, Any]) -> dict[str, Any]:
    """A context's dict form without its secrets (nested headers and credentials too)."""
    found: dict[str, Any] = scrub(values)
    return found


def _encode(value: Any) -> Any:  # noqa: PLR0911 - one return per carried kind
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    cls = type(value)
    if _path(cls) in _registered:
        return {"~": "reg", "c": _path(cls), "v": _encode(_registered[_path(cls)][1](value))}
    if hasattr(value, "obj_to_primitive") and hasattr(value, "obj_name"):
        return {"~": "ovo", "c": _path(cls), "v": scrub(value.obj_to_primitive())}
    if hasattr(value, "to_dict") and hasattr(cls, "from_dict") and hasattr(value, "project_id"):
        return {"~": "ctx", "c": _path(cls), "v": _encode(scrub_context(value.to_dict()))}
    if hasattr(value, "json") and hasattr(cls, "hydrate"):
        return {"~": "nw", "c": _path(cls), "v": value.json()}
    if isinstance(value, datetime.datetime):
        return {"~": "dt", "v": value.isoformat()}
    if isinstance(value, tuple):
        return {"~": "tuple", "v": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {"~": "dict", "v": {k: None if k in SECRET_ARGUMENTS or _secret(k)
                                   else _encode(v) for k, v in value.items()}}
    raise NotCarriable(f"a {cls.__module__}.{cls.__qualname__} cannot be carried to the worker")


def _decode(value: Any) -> Any:  # noqa: PLR0911 - one return per carried kind
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value["~"]
    if kind == "dict":
        return {k: _decode(v) for k, v in value["v"].items()}
    if kind == "tuple":
        return tuple(_decode(v) for v in value["v"])
    if kind == "dt":
        return datetime.datetime.fromisoformat(value["v"])
    if kind == "reg":
        path = value["c"]
        if path not in _registered:
            _load(path)  # importing its module registers it
        if path not in _registered:
            raise ValueError(f"{path!r} is no class registered to be carried")
        return _registered[path][2](_decode(value["v"]))
    if kind == "ovo":
        from nova import objects
        from nova.objects import base

        objects.register_all()
        return base.NovaObject.obj_from_primitive(value["v"])
    if kind == "ctx":
        return _load(value["c"], NOVA_MODULES).from_dict(_decode(value["v"]))
    if kind == "nw":
        return _load(value["c"], NOVA_MODULES).hydrate(value["v"])
    raise ValueError(f"unknown carried form {kind!r}")


def dumps(values: Mapping[str, Any]) -> str:
    """The arguments ``values`` (name -> value) as the journal keeps them.

    ``args[0]`` (the hooked object) is written as ``None``, as is every
    secret argument.

    :raises NotCarriable: naming the argument that cannot be written.
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in SECRET_ARGUMENTS:
            out[name] = None
            continue
        carried = (None, *value[1:]) if name == "args" and isinstance(value, tuple) and value else value
        try:
            out[name] = _encode(carried)
        except NotCarriable as exc:
            raise NotCarriable(f"argument {name!r}: {exc}") from None
    return json.dumps(out, separators=(",", ":"), default=_unserialisable)


def _unserialisable(value: Any) -> Any:
    raise NotCarriable(f"a {type(value).__qualname__} inside a carried value is no JSON")


def loads(text: str) -> dict[str, Any]:
    """The arguments as :func:`dumps` wrote them, rebuilt."""
    return {name: _decode(value) for name, value in json.loads(text).items()}
