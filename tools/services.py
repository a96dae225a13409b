"""What tools/ensure_*.py share: is a local service answering, and waiting until it does."""

from __future__ import annotations

import socket
import sys
import time


def answers(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def wait_until_answers(port: int, name: str, seconds: float = 120) -> int:
    """Wait for ``name`` on ``port``; 0 once it answers, 1 (said) when it never does."""
    deadline = time.monotonic() + seconds
    while not answers(port):
        if time.monotonic() > deadline:
            print(f"{name} did not start within {seconds:.0f} s", file=sys.stderr)
            return 1
        time.sleep(1)
    return 0
