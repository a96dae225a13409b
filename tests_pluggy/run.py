"""pluggy's own test suite with NovaPluginManager in place of PluginManager.

    python tests_pluggy/run.py PLUGGY_SDIST_FOLDER

Runs the sdist's ``testing/`` with the ``substitute`` plugin (pluggy's
``PluginManager`` replaced before the tests are imported), then compares
the failures with the deliberate differences listed in
``docs/pluggy-differences.md``, by full test id (parameters included): exit
1 when a test fails that the page does not list for this pluggy release
(or the page lists one for it that passes),
when pytest itself fails (an error of collection or usage, no test found:
any exit status but 0 and 1), or when fewer tests pass than
:data:`MINIMUM_PASSED`. The last line says how many passed and failed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "pluggy-differences.md"
ROW = re.compile(r"^\| `(?P<test>[\w/.]+::\w+(?:\[[^\]`]*\])?)` \| (?P<versions>[^|]+) \| "
                 r"(?P<why>[^|]+) \|$")
#: The fewest of pluggy's own tests that must pass with NovaPluginManager: a run that
#: collects too few (a broken substitute, a changed layout) fails. Keyed by pluggy's
#: major.minor; other releases are held to the smallest.
MINIMUM_PASSED = {"0.13": 80, "1.7": 200}  # 85 and 210 pass today


def documented(version: str) -> dict[str, str]:
    """Full test id (with its parameters) -> why, for the rows that name this pluggy
    release."""
    found = {}
    for line in DOCS.read_text().splitlines():
        match = ROW.match(line.strip())
        if match and version in [v.strip() for v in match["versions"].split(",")]:
            found[match["test"]] = match["why"].strip()
    return found


def main(sdist: Path) -> int:
    sdist = sdist.resolve()
    import pluggy

    version = pluggy.__version__
    report = sdist / "nova-hookspec-junit.xml"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])}
    if report.exists():
        report.unlink()
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "substitute", f"--junitxml={report}", "testing"],
                         cwd=sdist, env=env, check=False)
    if ran.returncode not in (0, 1) or not report.exists():
        print(f"pluggy {version}'s own suite: pytest exited {ran.returncode} (not a test "
              "failure: collection, usage or internal error, or no test found)")
        return 1
    failed, passed = [], 0
    for case in ET.parse(report).getroot().iter("testcase"):
        file = case.get("file") or case.get("classname", "").replace(".", "/") + ".py"
        test = f"{file}::{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(test)
        elif case.find("skipped") is None:
            passed += 1
    listed = documented(version)
    undocumented = sorted({t for t in failed if t not in listed})
    print(f"\npluggy {version}'s own suite with NovaPluginManager: {len(failed)} failure(s), "
          "each a deliberate difference listed in docs/pluggy-differences.md:"
          if not undocumented else
          f"\npluggy {version}'s own suite: failures not listed in docs/pluggy-differences.md:")
    for test in sorted(set(failed)):
        print(f"  {test}: {listed.get(test, 'NOT DOCUMENTED')}")
    stale = sorted(set(listed) - set(failed))
    for test in stale:
        print(f"  listed but passes now (update the page): {test}")
    minimum = minimum_passed(version)
    print(f"pluggy {version} suite: {passed} passed, {len(failed)} failed (at least "
          f"{minimum} must pass)")
    return 1 if undocumented or stale or passed < minimum else 0


def minimum_passed(version: str) -> int:
    return MINIMUM_PASSED.get(".".join(version.split(".")[:2]), min(MINIMUM_PASSED.values()))


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
