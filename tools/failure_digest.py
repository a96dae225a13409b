"""What the failed tests of this project's suites said, read back from CI's logs.

Why. ``.ci/run`` prints a long log, and where CI shows it the middle may be cut,
with the traceback of the one test that failed in it. At its very end,
``.ci/run`` runs this script over its streams' logs: for each ``FAILED`` or
``ERROR`` line of a test under ``tests*/`` (the pluggy suite's and Nova's own
expected failures name other paths), it prints the end of that test's report
in pytest's ``FAILURES`` (or ``ERRORS``) section: its ``E`` lines and the
lines around the last of them.

    python3 tools/failure_digest.py LOG [LOG ...]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: Lines kept of one report: the end, where the assertion and its values are.
LINES = 40

FAILED = re.compile(r"^(?:FAILED|ERROR) (tests\w*/\S+?)(?: - .*)?$")
HEADER = re.compile(r"^_{3,} (?:ERROR at \w+ of )?(.+?) _{3,}$")
SECTION_END = re.compile(r"^(?:={5,}|-{5,} (?:Captured|generated))")


def reports(lines: list[str]) -> dict[str, list[str]]:
    """Each report of a FAILURES/ERRORS section, by the name in its header."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        header = HEADER.match(line)
        if header:
            current = found.setdefault(header.group(1), [])
        elif current is not None and SECTION_END.match(line):
            current = None
        elif current is not None:
            current.append(line)
    return found


def digest(paths: list[str]) -> str:
    out = []
    for path in paths:
        lines = Path(path).read_text(errors="replace").splitlines()
        failed = sorted({m.group(1) for m in map(FAILED.match, lines) if m})
        if not failed:
            continue
        found = reports(lines)
        for test in failed:
            report = found.get(test.rsplit("::", 1)[-1], [])
            errors = [n for n, line in enumerate(report) if line.startswith("E ")]
            end = errors[-1] + 3 if errors else len(report)
            out.append(f"--- {test}")
            out.extend(report[max(0, end - LINES):end] or ["(its report is not in the log)"])
    return "\n".join(out)


if __name__ == "__main__":
    text = digest(sys.argv[1:])
    if text:
        print(text)
