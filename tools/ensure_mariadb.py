"""Start the machine's MariaDB if it is not running, and wait until it answers.

The reconcile tests (``nox -s reconcile``) put a real Nova API on MariaDB at
127.0.0.1:3306 (root, no password); the machines of this project start it
before a session, but a stopped one is started here (its init script, else
``mysqld_safe`` in the background).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from services import answers, wait_until_answers


def main() -> int:
    if answers(3306):
        return 0
    if os.path.exists("/etc/init.d/mariadb"):
        print("starting MariaDB (/etc/init.d/mariadb start)", flush=True)
        subprocess.run(["/etc/init.d/mariadb", "start"], check=False)
    elif shutil.which("mysqld_safe"):
        print("starting MariaDB (mysqld_safe)", flush=True)
        subprocess.Popen(["mysqld_safe"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    else:
        print("MariaDB is not running on 127.0.0.1:3306 and is not installed", file=sys.stderr)
        return 1
    return wait_until_answers(3306, "MariaDB")


if __name__ == "__main__":
    sys.exit(main())
