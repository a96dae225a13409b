"""An operator's broker mistakes, said as their cause in one line: never a password,
never a traceback (issue 29: "Errors that say the cause")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Account


def _status(url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NOVA_HOOKSPEC_TRANSPORT_URL": url,
           "NOVA_HOOKSPEC_JOURNAL": str(tmp_path / "journal.sqlite")}
    # list --dead: it must reach the broker (status shows this host's outbox without it).
    return subprocess.run([sys.executable, "-m", "nova_hookspec", "deferred", "list", "--dead"],
                          capture_output=True, text=True, env=env, timeout=60, check=False,
                          cwd=tmp_path)


@pytest.mark.parametrize(("mistake", "said"), [
    ("password", "login refused for user {user!r} at 127.0.0.1:5672"),
    ("vhost", "virtual host 'no-such-{vhost}' does not exist at 127.0.0.1:5672"),
    ("port", "connection refused at 127.0.0.1:1"),
    ("malformed", "the port of host '127.0.0.1' is 'abc', not a port number"),
])
def test_the_cause_in_one_line(account: Account, tmp_path: Path, mistake: str,
                               said: str) -> None:
    good = account.url
    url = {
        "password": good.replace(account.password, "not-" + account.password),
        "vhost": good.replace(f"/{account.vhost}", f"/no-such-{account.vhost}"),
        "port": good.replace(":5672/", ":1/"),
        "malformed": good.replace(":5672/", ":abc/"),
    }[mistake]
    done = _status(url, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert said.format(user=account.user, vhost=account.vhost) in output, output
    assert account.password not in output
    assert "Traceback" not in output
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1, output
