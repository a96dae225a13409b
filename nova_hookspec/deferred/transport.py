"""Which RabbitMQ carries deferred jobs between hosts, and how to reach it.

The broker is the one Nova already uses: an oslo.messaging transport URL,
``rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost``, read (first
found wins) from ``NOVA_HOOKSPEC_TRANSPORT_URL``, ``[nova_hookspec]
transport_url``, or, when ``[nova_hookspec] broker = true``, the service's
own ``[DEFAULT] transport_url``. TLS comes from the URL's ``?ssl=1`` or the
``[oslo_messaging_rabbit]`` options ``ssl``, ``ssl_ca_file``,
``ssl_cert_file`` and ``ssl_key_file``, as for Nova.

The URL is parsed by oslo.messaging (``TransportURL.parse``) when it is
installed (always inside Nova) and connected with kombu, Nova's own AMQP
client: oslo.messaging's public API has no publisher confirm for one
message, no queue arguments, no exclusive consumer and no ack after a retry
held in place, which the lanes need (:mod:`.brokers.rabbit`).

Credentials never leave this module: :func:`redact` is what logs and the
CLI show.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from nova_hookspec._plugins import config as _config
from nova_hookspec._plugins.controls import TRUE_WORDS
from nova_hookspec.deferred.settings import Settings


@dataclass(frozen=True)
class Broker:
    """Where the broker is: kombu URLs (failover order) and TLS options."""

    urls: tuple[str, ...]
    ssl: Any = False
    shown: str = field(default="", compare=False)
    #: Not secret, said when the broker refuses us: the user and virtual host.
    user: str = field(default="", compare=False)
    vhost: str = field(default="", compare=False)
    #: ``host:port`` of each broker, in failover order.
    places: tuple[str, ...] = field(default=(), compare=False)

    def __repr__(self) -> str:
        return f"Broker({self.shown})"

    def cause(self, exc: BaseException) -> str:
        """Why connecting failed, in words an operator acts on; never a password.

        RabbitMQ refuses a wrong user or password with ``ACCESS_REFUSED`` (it does
        not say which of the two), a missing or forbidden virtual host with
        ``NOT_ALLOWED``; the socket says refused, unresolvable or silent.
        """
        places = " or ".join(self.places) or self.shown
        code = getattr(exc, "code", None) or getattr(exc, "reply_code", None)
        text = str(getattr(exc, "reply_text", "") or exc)
        if code == 403 or type(exc).__name__ == "AccessRefused":
            return (f"login refused for user {self.user!r} at {places} "
                    "(a wrong user name or password)")
        if code == 530 or type(exc).__name__ == "NotAllowed":
            if "not found" in text:
                return f"virtual host {self.vhost!r} does not exist at {places}"
            return (f"user {self.user!r} may not use virtual host {self.vhost!r} at "
                    f"{places} (rabbitmqctl set_permissions)")
        return _socket_cause(exc, places) or f"{places} unreachable ({type(exc).__name__})"


def _socket_cause(exc: BaseException, places: str) -> str | None:
    """What the socket under a failed connection said (kombu wraps it), if anything."""
    for err in (exc, exc.__cause__ or exc.__context__):
        if isinstance(err, ConnectionRefusedError):
            return f"connection refused at {places} (is RabbitMQ running there?)"
        if isinstance(err, OSError) and type(err).__name__ == "gaierror":
            return f"host not found: {places}"
        if isinstance(err, TimeoutError) or type(err).__name__ == "timeout":
            return f"no answer from {places}"
    return None


def configured_url(settings: Settings) -> str | None:
    """The transport URL in force, or ``None`` (the one-host journal only).

    :raises ValueError: ``broker`` is true but the service has no transport URL.
    """
    if settings.transport_url:
        return settings.transport_url
    if settings.broker:
        found = _config.raw_option("DEFAULT", "transport_url")
        if not found:
            raise ValueError("[nova_hookspec] broker is true but the service's configuration "
                             "has no [DEFAULT] transport_url (give --config-file nova.conf, or "
                             "set [nova_hookspec] transport_url)")
        return found
    return None


def _hosts(url: str) -> tuple[str, list[tuple[str, int, str, str]], str, dict[str, list[str]]]:
    """(scheme, [(host, port, user, password)], virtual host, query) of ``url``."""
    try:
        with warnings.catch_warnings():  # its imports warn about eventlet on new releases
            warnings.simplefilter("ignore")
            import oslo_messaging
            from oslo_config import cfg
    except ImportError:
        oslo_messaging = None
    if oslo_messaging is not None:
        try:
            parsed = oslo_messaging.TransportURL.parse(cfg.ConfigOpts(), url)
        except Exception as exc:  # noqa: BLE001 - its message may quote the URL: not shown
            _own_hosts(url)  # a bad port is named (newer releases refuse it themselves)
            raise ValueError(f"transport_url is malformed ({type(exc).__name__}); "
                             "expected rabbit://user:password@host:port/vhost") from None
        hosts = [(h.hostname or "localhost", _port(h.hostname, h.port), h.username or "guest",
                  h.password or "guest") for h in parsed.hosts] or [("localhost", 5672,
                                                                     "guest", "guest")]
        query = {k: [str(v)] for k, v in (parsed.query or {}).items()}
        return parsed.transport or "rabbit", hosts, parsed.virtual_host or "", query
    return _own_hosts(url)


def _own_hosts(url: str) -> tuple[str, list[tuple[str, int, str, str]], str,
                                  dict[str, list[str]]]:
    """:func:`_hosts` without oslo.messaging: the same syntax, read here."""
    split = urlsplit(url)
    hosts = []
    for part in split.netloc.split(","):
        credentials, _, place = part.rpartition("@")
        user, _, password = credentials.partition(":")
        host, _, port = place.partition(":")
        hosts.append((host or "localhost", _port(host, port), unquote(user or "guest"),
                      unquote(password or "guest")))
    return split.scheme, hosts, unquote(split.path[1:]), parse_qs(split.query)


def _port(host: str | None, port: Any) -> int:
    """A URL's port as a number, or a ValueError naming it (never the password)."""
    if port in (None, ""):
        return 5672
    try:
        number = int(port)
    except (TypeError, ValueError):
        number = -1
    if not 0 < number < 65536:
        raise ValueError(f"transport_url: the port of host {host or 'localhost'!r} is "
                         f"{str(port)!r}, not a port number")
    return number


def redact(url: str) -> str:
    """``url`` without user names and passwords: what logs and the CLI show."""
    try:
        scheme, hosts, vhost, _query = _hosts(url)
    except Exception:  # noqa: BLE001 - an unreadable URL is shown as nothing of it
        return "<transport_url>"
    places = ",".join(f"{host}:{port}" for host, port, _u, _p in hosts)
    return f"{scheme}://{places}/{vhost}"


def broker(settings: Settings) -> Broker | None:
    """The broker of ``settings``, or ``None`` when none is configured."""
    url = configured_url(settings)
    if url is None:
        return None
    scheme, hosts, vhost, query = _hosts(url)
    if scheme not in ("rabbit", "amqp", "kombu+rabbit", "pyamqp"):
        raise ValueError(f"transport {redact(url)!r}: nova_hookspec carries deferred jobs on "
                         f"RabbitMQ only (rabbit://), not {scheme!r}")
    urls = tuple(f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"
                 f"{quote(vhost, safe='')}" for host, port, user, password in hosts)
    ssl: Any = False
    wanted = query.get("ssl", [""])[-1].lower() in TRUE_WORDS or str(
        _config.raw_option("oslo_messaging_rabbit", "ssl") or "").lower() in TRUE_WORDS
    if wanted:
        options = {name: _config.raw_option("oslo_messaging_rabbit", f"ssl_{name}")
                   for name in ("ca_file", "cert_file", "key_file")}
        ssl = {key: value for key, value in (("ca_certs", options["ca_file"]),
                                             ("certfile", options["cert_file"]),
                                             ("keyfile", options["key_file"])) if value}
        if ssl.get("ca_certs"):
            import ssl as _ssl

            ssl["cert_reqs"] = _ssl.CERT_REQUIRED
        ssl = ssl or True
    return Broker(urls, ssl, redact(url), user=hosts[0][2], vhost=vhost or "/",
                  places=tuple(f"{host}:{port}" for host, port, _u, _p in hosts))
