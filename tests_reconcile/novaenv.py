"""A real Nova API: its databases made by ``nova-manage``, served by gunicorn.

Why: the reconcile reads Nova through its compute API; the only honest test
of that is Nova's own API code over Nova's own schemas, served the way
deployments serve it (a WSGI server over ``nova.wsgi.osapi_compute``), with
nothing of Nova faked but the services it calls out to (``standins``) and
Keystone (``paste_filters``).

Defaults: MariaDB on 127.0.0.1:3306 as root without a password
(``NOVA_API_TEST_DB`` overrides the server part of the URL); three databases
(``nova_api``, ``nova_cell0``, ``nova`` for cell1) named with a run tag,
dropped by ``NovaAPI.destroy``; two gunicorn workers; the API's listing page
limit is Nova's default (``[api] max_limit`` = 1000).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pymysql

HERE = Path(__file__).resolve().parent
SERVER = os.environ.get("NOVA_API_TEST_DB", "mysql+pymysql://root@127.0.0.1:3306")
WORKERS = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def shipped_paste_ini() -> Path:
    """The ``api-paste.ini`` Nova's wheel installs (``<prefix>/etc/nova``)."""
    for prefix in (sys.prefix, sys.base_prefix):
        path = Path(prefix) / "etc" / "nova" / "api-paste.ini"
        if path.exists():
            return path
    raise FileNotFoundError(f"no etc/nova/api-paste.ini under {sys.prefix}: is Nova installed?")


def paste_ini(shipped: str) -> str:
    """The shipped file with ``authtoken`` served by ``paste_filters.identity``
    and the listing fault in front of it, nothing else changed."""
    keystone = "paste.filter_factory = keystonemiddleware.auth_token:filter_factory"
    assert keystone in shipped, "the shipped api-paste.ini has no [filter:authtoken]"
    text = shipped.replace(keystone, "paste.filter_factory = paste_filters:identity_factory")
    text = text.replace(" authtoken keystonecontext", " novaapi_fault authtoken keystonecontext")
    return text + "\n[filter:novaapi_fault]\npaste.filter_factory = paste_filters:fault_factory\n"


def _no_control_socket() -> list[str]:
    """gunicorn 25 and later open a control socket in ~/.gunicorn, one path for every
    instance: off (older ones have none)."""
    import gunicorn

    return ["--no-control-socket"] if gunicorn.version_info >= (25,) else []


class Databases:
    """nova_api, nova_cell0 and nova (cell1) of one run, on the test's MariaDB."""

    def __init__(self, tag: str) -> None:
        self.names = {"api": f"nova_api_{tag}", "cell0": f"nova_cell0_{tag}",
                      "cell1": f"nova_{tag}"}

    def url(self, which: str) -> str:
        return f"{SERVER}/{self.names[which]}?charset=utf8"

    def _run(self, statement: str) -> None:
        connection = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def create(self) -> None:
        for name in self.names.values():
            self._run(f"CREATE DATABASE `{name}` CHARACTER SET utf8")

    def drop(self) -> None:
        for name in self.names.values():
            self._run(f"DROP DATABASE IF EXISTS `{name}`")


def nova_conf(dbs: Databases, standins: dict[str, str], state: Path) -> str:
    """The test's nova.conf: its databases, the stand-ins as the services' endpoints."""
    return f"""[DEFAULT]
host = novaapi-test
state_path = {state}
transport_url = fake:/
debug = false
use_stderr = true
[api]
auth_strategy = keystone
[api_database]
connection = {dbs.url("api")}
[database]
connection = {dbs.url("cell1")}
[oslo_concurrency]
lock_path = {state / "locks"}
[oslo_messaging_notifications]
driver = noop
[oslo_policy]
enforce_scope = false
enforce_new_defaults = false
[neutron]
endpoint_override = {standins["network"]}
auth_type = none
[placement]
endpoint_override = {standins["placement"]}
auth_type = none
[glance]
endpoint_override = {standins["image"]}
[cinder]
endpoint_template = {standins["image"]}/volume/%(project_id)s
"""


class NovaAPI:
    """Nova's compute API of one run: config, databases, the gunicorn process."""

    def __init__(self, root: Path, standins: dict[str, str], tag: str = "") -> None:
        self.tag = tag or uuid.uuid4().hex[:10]
        self.root = root
        self.conf_dir = root / "etc"
        self.conf = self.conf_dir / "nova.conf"
        self.fault_file = root / "fault.json"
        self.log = root / "gunicorn.log"
        self.dbs = Databases(self.tag)
        self.port = free_port()
        self.standins = standins
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The compute endpoint (what ``compute_endpoint_override`` names)."""
        return f"http://127.0.0.1:{self.port}/v2.1"

    def manage(self, *args: str) -> None:
        command = [str(Path(sys.executable).with_name("nova-manage")), "--config-file",
                   str(self.conf), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=600)
        assert done.returncode == 0, f"nova-manage {' '.join(args)}: {done.stderr[-3000:]}"

    def create(self) -> None:
        """Config files, the databases and their schemas (``nova-manage``)."""
        (self.root / "state" / "locks").mkdir(parents=True, exist_ok=True)
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(nova_conf(self.dbs, self.standins, self.root / "state"))
        (self.conf_dir / "api-paste.ini").write_text(paste_ini(shipped_paste_ini().read_text()))
        self.dbs.create()
        self.manage("api_db", "sync")
        self.manage("cell_v2", "map_cell0", "--database_connection", self.dbs.url("cell0"))
        self.manage("cell_v2", "create_cell", "--name", "cell1", "--database_connection",
                    self.dbs.url("cell1"), "--transport-url", "fake:/")
        self.manage("db", "sync")

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "OS_NOVA_CONFIG_DIR": str(self.conf_dir),
            "NOVA_API_FAULT_FILE": str(self.fault_file),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")])),
        })
        return env

    def start(self, timeout: float = 180.0) -> None:
        """gunicorn over Nova's WSGI entry, returned once the API answers."""
        command = [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(WORKERS),
                   "--bind", f"127.0.0.1:{self.port}", "--timeout", "300",
                   *_no_control_socket(), "wsgi_entry:application"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, env=self.environ(), stdout=log,
                                            stderr=subprocess.STDOUT, cwd=str(self.root))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited: {self.tail()}"
            try:
                with urllib.request.urlopen(self.endpoint + "/", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise AssertionError(f"Nova's API did not answer in {timeout} s: {self.tail()}")

    def listing_requests(self) -> int:
        """The server listing requests (pages) Nova's request log shows so far."""
        if not self.log.exists():
            return 0
        text = self.log.read_text(errors="replace")
        return text.count('"GET /v2.1/servers/detail') + text.count('"GET /v2.1/servers?')

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def destroy(self) -> None:
        self.stop()
        self.dbs.drop()
        shutil.rmtree(self.root / "state", ignore_errors=True)

    def fail_listings(self, from_request: int, status: int = 500) -> None:
        """From the ``from_request``-th server listing request on (every page counts),
        the API answers ``status``; ``heal`` ends it."""
        self.fault_file.write_text(f'{{"fail_from": {from_request}, "status": {status}}}')

    def heal(self) -> None:
        if self.fault_file.exists():
            self.fault_file.unlink()

    def clouds_yaml(self, path: Path, cloud: str = "novaapi") -> Path:
        """A clouds.yaml for this API: no Keystone (``auth_type: none``), the compute
        endpoint given as ``compute_endpoint_override``."""
        path.write_text(
            "clouds:\n"
            f"  {cloud}:\n"
            "    auth_type: none\n"
            f"    compute_endpoint_override: {self.endpoint}\n"
            "    region_name: RegionOne\n")
        return path

