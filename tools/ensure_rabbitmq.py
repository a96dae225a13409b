"""Start the machine's RabbitMQ if it is not running, and wait until it answers.

The broker tests need RabbitMQ on 127.0.0.1:5672 with the guest user; CI
machines start it before a session, but a stopped one is started here
(``rabbitmq-server -detached``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from services import answers, wait_until_answers


def main() -> int:
    if answers(5672):
        return 0
    if shutil.which("rabbitmq-server") is None:
        print("RabbitMQ is not running on 127.0.0.1:5672 and rabbitmq-server is not installed",
              file=sys.stderr)
        return 1
    node_up = subprocess.run(["rabbitmqctl", "ping"], check=False,
                             capture_output=True).returncode == 0
    if node_up:  # the node runs but its application was stopped
        print("starting RabbitMQ's application (rabbitmqctl start_app)", flush=True)
        subprocess.run(["rabbitmqctl", "start_app"], check=False, capture_output=True)
    else:
        print("starting RabbitMQ (rabbitmq-server -detached)", flush=True)
        subprocess.run(["rabbitmq-server", "-detached"], check=False)
        subprocess.run(["rabbitmqctl", "await_startup", "--timeout", "120"], check=False,
                       capture_output=True)
    return wait_until_answers(5672, "RabbitMQ")


if __name__ == "__main__":
    sys.exit(main())
