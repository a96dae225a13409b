"""Developer and CI sessions.

``nox -s tests`` (every Python and pluggy of the test matrix), ``nox -s nova``
(every Nova release in its own environment), ``broker`` (the deferred jobs
across hosts on the machine's RabbitMQ), ``reconcile`` (a real Nova API on the
machine's MariaDB), ``plugins``, ``lint``,
``typecheck``, ``docs``; ``bench`` by hand. Other CPythons come from pyenv:
``PYENV_VERSION=3.11.7:3.8.18:3.10.13:3.12.1:3.13.0 nox ...`` (``.ci/run``
sets it).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "plugins", "lint", "typecheck"]

#: The test suite's matrix: Python, pluggy, other pins. The oldest row is
#: OpenStack Ussuri's (pluggy 0.13.1, importlib-metadata 1.6.0, Python 3.8);
#: 1.0.0 is a later series' pin; the newest of both last. The 2024.1 series'
#: row (Python 3.11, pluggy 1.4.0) is ``tests-wheel``'s: the suite against the
#: installed wheel.
TEST_MATRIX = [
    ("3.8", "0.13.1", ("importlib-metadata==1.6.0",)),
    ("3.8", "1.0.0", ()),
    ("3.13", "latest", ()),
]
#: ``tests-wheel``'s pluggy (with its Python, 3.11).
WHEEL_PLUGGY = "1.4.0"


@nox.session
@nox.parametrize(
    ("python", "pluggy", "extra"),
    TEST_MATRIX,
    ids=[f"{py}-pluggy-{pluggy}" for py, pluggy, _ in TEST_MATRIX],
)
def tests(session: nox.Session, pluggy: str, extra: tuple[str, ...]) -> None:
    """The test suite on one Python against one pluggy release."""
    pin = "pluggy" if pluggy == "latest" else f"pluggy=={pluggy}"
    session.install("--upgrade", ".[test]", pin, *extra)
    # No test found (exit 5) or fewer than tests/conftest.py's MINIMUM_TESTS: a failure.
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs)


@nox.session(name="tests-wheel", python="3.11")
def tests_wheel(session: nox.Session) -> None:
    """The test suite against the built wheel, installed, in a copy of the checkout
    without the package's source: a file missing from the wheel fails it."""
    tmp = Path(session.create_tmp())
    dist = _fresh(tmp / "dist")
    session.run("python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
                str(dist), ".")
    [wheel] = dist.glob("nova_hookspec-*.whl")
    session.install("--force-reinstall", f"{wheel}[test]", f"pluggy=={WHEEL_PLUGGY}")
    copy = tmp / "checkout"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(".", copy, ignore=shutil.ignore_patterns(
        ".git", ".nox", ".venv", "_build", "__pycache__", "*.egg-info", "nova_hookspec"))
    session.chdir(copy)
    session.run("python", "-c", "import nova_hookspec, sys; "
                "sys.exit(0 if 'site-packages' in nova_hookspec.__file__ else "
                "f'the tests would import {nova_hookspec.__file__}, not the wheel')")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs)


#: Nova releases as operators run them: (Nova, the OpenStack series whose
#: upper-constraints file builds the environment, Python). Nova 34 has no
#: published constraints file yet: it is installed unconstrained.
NOVA_MATRIX = [
    ("21.2.4", "ussuri", "3.8"),  # the last Nova with nova/hooks.py
    ("25.3.0", "yoga", "3.8"),
    ("27.5.1", "2023.1", "3.10"),
    ("29.4.0", "2024.1", "3.11"),
    ("31.3.1", "2025.1", "3.12"),
    ("32.2.1", "2025.2", "3.12"),
    ("33.0.2", "2026.1", "3.12"),
    ("34.0.0", None, "3.11"),
]


def constraints(series: str | None) -> list[str]:
    """pip's arguments for a series' upper-constraints file (kept in constraints/)."""
    return ["-c", f"constraints/upper-constraints-{series}.txt"] if series else []


@nox.session
@nox.parametrize(
    ("nova", "series", "python"),
    NOVA_MATRIX,
    ids=[f"{nova}-{series or 'unconstrained'}" for nova, series, _ in NOVA_MATRIX],
)
def nova(session: nox.Session, nova: str, series: str | None) -> None:
    """Nova installed as deployment tools install it, nova_hookspec added under the
    same constraints, and the real-Nova tests run there."""
    pins = constraints(series)
    session.install(*pins, f"nova=={nova}")
    session.install(*pins, ".", "pytest")
    session.run("python", "-m", "pip", "check")
    session.run("python", "tools/check_pins.py", *pins[1:])
    session.run(
        "python", "-m", "pytest", "-p", "no:cacheprovider", "-c", "tests_nova/pytest.ini",
        "tests_nova", "--ignore=tests_nova/test_release_targets.py",
        "tests/test_testing_kit.py", *session.posargs,
    )
    if nova.startswith("21."):
        # Nova's own unit tests of nova/hooks.py, unchanged, against nova_hookspec.compat.
        session.install(*pins, *NOVA_TEST_REQUIREMENTS, "mock", "openstack-placement==3.0.1")
        session.run("python", "tests_nova/run_nova_hook_tests.py")


#: The broker tests' environments: oslo.messaging and kombu as a series pins them
#: (2026.1: oslo.messaging 17.3.0, kombu 5.6.2; Ussuri: 12.1.6, 4.6.8, Python 3.8).
BROKER_MATRIX = [("2026.1", "3.12"), ("ussuri", "3.8")]


@nox.session
@nox.parametrize(("series", "python"), BROKER_MATRIX, ids=[s for s, _ in BROKER_MATRIX])
def broker(session: nox.Session, series: str) -> None:
    """Deferred jobs across hosts on the machine's RabbitMQ (127.0.0.1:5672, guest),
    started if it is stopped; each test uses a virtual host of its own."""
    pins = constraints(series)
    session.install(*pins, "oslo.messaging", "kombu", ".[prometheus]", "pytest")
    session.run("python", "tools/ensure_rabbitmq.py", external=False)
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-c",
                "tests_broker/pytest.ini", "tests_broker", *session.posargs)


#: The reconcile tests' Nova: (Nova, series, Python); the API runs from the session's
#: venv. The 10,000-instance figures (docs/benchmarks.md) come from the newest only.
RECONCILE_MATRIX = [("33.0.2", "2026.1", "3.12"), ("21.2.4", "ussuri", "3.8")]


@nox.session
@nox.parametrize(("nova", "series", "python"), RECONCILE_MATRIX,
                 ids=[f"{nova}-{series}" for nova, series, _ in RECONCILE_MATRIX])
def reconcile(session: nox.Session, nova: str, series: str) -> None:
    """Issue 31 against a real Nova API: gunicorn over Nova's WSGI entry on the
    machine's MariaDB (127.0.0.1:3306, root), schemas by nova-manage, instances
    planted through Nova's objects, read through openstacksdk."""
    pins = constraints(series)
    session.install(*pins, f"nova=={nova}", "openstacksdk", "gunicorn", "PyMySQL", "pytest")
    session.install(*pins, ".")
    # The 10,000-instance figures are a benchmark, not a check: with RECONCILE_FIGURES=1
    # (by hand, for docs/benchmarks.md), on the newest Nova only.
    wanted = os.environ.get("RECONCILE_FIGURES") == "1" and series == RECONCILE_MATRIX[0][1]
    figures = [] if wanted else ["-k", "not 10000"]
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-c",
                "tests_reconcile/pytest.ini", "tests_reconcile", *figures, *session.posargs)


@nox.session(name="nova-targets", python="3.12")
def nova_targets(session: nox.Session) -> None:
    """The four targets (module, callable, parameters) of every Nova release 21 to 34,
    read from each release's own wheel (downloaded, not installed)."""
    session.install(".", "pytest")
    wheels = Path(session.create_tmp()) / "nova-wheels"
    wheels.mkdir(exist_ok=True)
    releases = session.run(
        "python", "-c", "import sys; sys.path.insert(0, 'tests_nova'); "
        "import test_release_targets as t; print(' '.join(t.RELEASES))", silent=True)
    for release in str(releases).split():
        if not any(wheels.glob(f"nova-{release}-*.whl")):
            session.run("python", "-m", "pip", "download", "--quiet", "--no-deps", "--dest",
                        str(wheels), f"nova=={release}")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-c", "tests_nova/pytest.ini",
                "tests_nova/test_release_targets.py", *session.posargs,
                env={"NOVA_TARGETS_WHEELS": str(wheels)})


#: Nova's functional tests (shipped in its wheel) with the hook points
#: attached: (Nova, series, Python).
FUNCTIONAL_MATRIX = [
    ("21.2.4", "ussuri", "3.8"),
    ("33.0.2", "2026.1", "3.12"),
]

#: What Nova's functional tests need besides Nova (its test-requirements).
NOVA_TEST_REQUIREMENTS = [
    "oslotest", "stestr", "fixtures", "testtools", "ddt", "requests-mock", "wsgi-intercept",
    "testscenarios", "testresources", "python-barbicanclient", "gabbi", "osprofiler",
]

#: The Nova functional tests run: boot and delete, a multi-instance boot, one
#: refused over quota (API.create raises), failed builds, a deferred delete, a
#: delete during a build. Each boot refreshes the instance's network info cache.
FUNCTIONAL_TESTS = [
    "nova.tests.functional.regressions.test_bug_1780373.TestMultiCreateServerGroupMemberOverQuota"
    ".test_multi_create_server_group_members_over_quota",
    "nova.tests.functional.test_servers.ServersTest.test_create_and_delete_server",
    "nova.tests.functional.test_servers.ServersTest.test_create_multiple_servers",
    "nova.tests.functional.test_servers.ServersTest.test_create_server_with_error",
    "nova.tests.functional.test_servers.ServersTest.test_deferred_delete",
    "nova.tests.functional.test_servers.ServerBuildAbortTests.test_abort_when_booting_instance",
    "nova.tests.functional.test_servers.ServerDeleteBuildTests"
    ".test_delete_stuck_build_instance_after_claim",
]


#: The parameters of every session over FUNCTIONAL_MATRIX.
_functional_matrix = nox.parametrize(
    ("nova", "series", "python"),
    FUNCTIONAL_MATRIX,
    ids=[f"{nova}-{series}" for nova, series, _ in FUNCTIONAL_MATRIX],
)


def _functional_environment(session: nox.Session, nova: str, series: str) -> Path:
    """Nova with its test requirements and nova_hookspec under the series' constraints,
    Nova's api-paste.ini in place; the probe plugins in a folder of their own (on
    the path only when wanted), which is returned."""
    pins = constraints(series)
    extra = ["mock", "openstack-placement==3.0.1"] if series == "ussuri" else [
        "openstack-placement"]
    session.install(*pins, f"nova=={nova}", *NOVA_TEST_REQUIREMENTS, *extra)
    session.install(*pins, ".")
    session.run("python", "tests_functional/prepare.py")  # Nova's api-paste.ini in place
    probe = _fresh(Path(session.create_tmp()) / "probe")
    session.install("--no-deps", "--target", str(probe), "./tests_functional/probe")
    return probe


def _fresh(folder: Path) -> Path:
    """``folder``, emptied."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _compare_attached_first(session: nox.Session, probe: Path, results: Path,
                            tests: list[str]) -> None:
    """``tests`` without nova_hookspec and with attach_nova() called before Nova is
    imported (probe plugins installed); the outcomes must match."""
    session.run("python", "tests_functional/run_nova_tests.py", "baseline",
                str(results / "baseline.json"), *tests)
    session.run("python", "tests_functional/run_nova_tests.py", "attached-first",
                str(results / "attached-first.json"), *tests,
                env={"PYTHONPATH": str(probe),
                     "NOVA_HOOKSPEC_PROBE_RECORD": str(results / "attached-first.jsonl")})
    session.run("python", "tests_functional/compare.py", str(results))


@nox.session(name="nova-functional")
@_functional_matrix
def nova_functional(session: nox.Session, nova: str, series: str) -> None:
    """Nova's own functional tests, without nova_hookspec and with the hook points
    attached (after Nova's import, and before it) and the probe plugins installed;
    the outcomes must not differ."""
    probe = _functional_environment(session, nova, series)
    tmp = Path(session.create_tmp())
    results = _fresh(tmp / "results")
    modes = ["baseline", *(["nova-hooks"] if nova.startswith("21.") else []), "attached",
             "attached-first"]
    for mode in modes:
        env = {"NOVA_HOOKSPEC_PROBE_RECORD": str(results / f"{mode}.jsonl")}
        if mode != "baseline":
            env["PYTHONPATH"] = str(probe)
        session.run("python", "tests_functional/run_nova_tests.py", mode,
                    str(results / f"{mode}.json"), *FUNCTIONAL_TESTS, env=env)
    # The probe's POSTS observer deferred (the operator's control): the tests run, then a
    # worker drains the journal; it must have recorded what it records in the call.
    deferred = {"PYTHONPATH": str(probe), "NOVA_HOOKSPEC_DEFERRED": "posts",
                "NOVA_HOOKSPEC_JOURNAL": str(results / "journal.sqlite"),
                "NOVA_HOOKSPEC_PROBE_RECORD": str(results / "attached-deferred.jsonl")}
    session.run("python", "tests_functional/run_nova_tests.py", "attached-deferred",
                str(results / "attached-deferred.json"), *FUNCTIONAL_TESTS, env=deferred)
    session.run("python", "-m", "nova_hookspec", "worker", "--drain", env=deferred)
    session.run("python", "-m", "nova_hookspec", "deferred", "status", env=deferred)
    session.run("python", "tests_functional/compare.py", str(results))
    # The comparison can fail: the probe's wrapper, told to swallow Nova's exceptions
    # into None, must make it fail.
    fault = _fresh(tmp / "results-fault")
    shutil.copy(results / "baseline.json", fault / "baseline.json")
    session.run("python", "tests_functional/run_nova_tests.py", "attached",
                str(fault / "attached.json"), *FUNCTIONAL_TESTS,
                env={"PYTHONPATH": str(probe), "NOVA_HOOKSPEC_PROBE_FAULT": "swallow",
                     "NOVA_HOOKSPEC_PROBE_RECORD": str(fault / "attached.jsonl")},
                success_codes=[1])  # the over-quota test errors
    session.run("python", "tests_functional/compare.py", str(fault), success_codes=[1])
    # attach_nova() first thing in the process, over a longer list: Nova's whole
    # ServersTest and the tests that importing Nova's modules early broke.
    _compare_attached_first(session, probe, _fresh(tmp / "results-first"),
                            ATTACH_FIRST_TESTS[nova.split(".", maxsplit=1)[0]])


@nox.session(name="nova-functional-full")
@_functional_matrix
def nova_functional_full(session: nox.Session, nova: str, series: str) -> None:
    """By hand, not in CI (about 35 minutes a run): Nova's whole functional
    ``test_servers`` module without nova_hookspec and with attach_nova() called
    before Nova is imported (probe plugins installed); the outcomes must match."""
    probe = _functional_environment(session, nova, series)
    _compare_attached_first(session, probe, _fresh(Path(session.create_tmp()) / "results-full"),
                            ["nova.tests.functional.test_servers"])


#: Run with attach_nova() called before Nova is imported, and without nova_hookspec:
#: Nova's whole functional ServersTest and, on 33, the accelerator and port-binding
#: tests whose outcome importing Nova's modules early changed.
ATTACH_FIRST_TESTS = {
    "21": ["nova.tests.functional.test_servers.ServersTest"],
    "33": [
        "nova.tests.functional.test_servers.ServersTest",
        "nova.tests.functional.test_servers.PortAcceleratorServerOpsTest",
        "nova.tests.functional.test_servers.PortAndFlavorAccelsServerCreateTest",
        "nova.tests.functional.test_servers.TwoPortsAcceleratorServerOpsTest",
        "nova.tests.functional.test_servers.PortBindingShelvedServerTest"
        ".test_shelve_offload_with_port",
    ],
}


#: pluggy's own suite runs with NovaPluginManager on the oldest and newest pluggy.
PLUGGY_SUITE = [("3.8", "0.13.1"), ("3.13", "latest")]


@nox.session(name="pluggy-suite")
@nox.parametrize(("python", "pluggy"), PLUGGY_SUITE,
                 ids=[f"pluggy-{pluggy}" for _, pluggy in PLUGGY_SUITE])
def pluggy_suite(session: nox.Session, pluggy: str) -> None:
    """pluggy's own tests (from the sdist of the installed pluggy) with NovaPluginManager
    in place of PluginManager; every failure must be a documented difference."""
    pin = "pluggy" if pluggy == "latest" else f"pluggy=={pluggy}"
    session.install("--upgrade", ".", pin, "pytest")
    version = session.run("python", "-c", "import pluggy; print(pluggy.__version__)",
                          silent=True)
    version = str(version).strip()
    tmp = Path(session.create_tmp())
    folder = tmp / f"pluggy-{version}"
    if not folder.exists():
        session.run("python", "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                    ":all:", "--dest", str(tmp), f"pluggy=={version}")
        session.run("python", "-c", "import sys, tarfile; "
                    "tarfile.open(sys.argv[1]).extractall(sys.argv[2])",
                    str(tmp / f"pluggy-{version}.tar.gz"), str(tmp))
    session.run("python", "tests_pluggy/run.py", str(folder))


PLUGINS = ["plugins/legacy-logger", "plugins/inventory", "plugins/policy"]


@nox.session
def plugins(session: nox.Session) -> None:
    """The example plugins, installed together, with their tests and the CLI over them."""
    session.install(".[test]", *(f"./{p}[test]" for p in PLUGINS))
    session.run(
        "python", "-m", "pytest", *(f"{p}/tests" for p in PLUGINS), "tests_plugins",
        *session.posargs,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Per-call cost (callgrind and wall-clock), first call and import, side by side
    with hand-written loops, raw pluggy and Nova's own nova/hooks.py."""
    session.install(".[rabbit]", "stevedore", "oslo.log", "oslo.i18n", "celery")
    tmp = Path(session.create_tmp())
    wheel_dir = tmp / "wheel"
    session.run("python", "-m", "pip", "download", "--no-deps", "--quiet", "--dest",
                str(wheel_dir), "nova==21.2.4")
    nova_dir = tmp / "nova-hooks"
    (nova_dir / "nova").mkdir(parents=True, exist_ok=True)
    # Nova's own hooks module and its i18n helper, taken from the wheel at bench time.
    [wheel] = wheel_dir.glob("nova-21.2.4-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for name in ("nova/hooks.py", "nova/i18n.py"):
            (nova_dir / name).write_bytes(archive.read(name))
    (nova_dir / "nova" / "__init__.py").write_text("")
    # Instructions (callgrind) and wall-clock per call, first call and import, in one run.
    session.run("python", "benchmarks/run.py", "--nova-hooks", str(nova_dir), *session.posargs)
    # Deferred post hooks: the time a deferred plugin adds to the call, the worker's jobs/s.
    session.run("python", "benchmarks/deferred.py")
    # Across hosts on RabbitMQ, beside Celery and oslo.messaging on the same broker.
    session.run("python", "tools/ensure_rabbitmq.py")
    session.run("python", "benchmarks/broker.py")


#: What the mutation session mutates: the ordering rules and the deferred engine's
#: policies; the in-process tests that must notice (each under a second or two).
MUTATED = ("nova_hookspec/_plugins/ordering.py", "nova_hookspec/deferred/middleware/retries.py",
           "nova_hookspec/deferred/middleware/time_limit.py",
           "nova_hookspec/deferred/middleware/overrides.py")
MUTATION_TESTS = ("tests/test_ordering.py", "tests/test_middleware.py",
                  "tests/test_named_breaks.py", "tests/test_properties.py")


@nox.session(python="3.11")
def mutation(session: nox.Session) -> None:
    """By hand, not in CI: mutmut over the ordering rules and the deferred policies
    (MUTATED), judged by their in-process tests; its score is in docs/testing.md."""
    session.install("-e", ".[test]", "mutmut>=3.3")
    work = Path(session.create_tmp()) / "mutation"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(".", work, ignore=shutil.ignore_patterns(".nox", ".venv", ".git",
                                                             "mutants", "__pycache__"))
    others = sorted(str(p) for p in Path("nova_hookspec").rglob("*.py")
                    if str(p) not in MUTATED)
    quoted = ", ".join(f'"{p}"' for p in others)
    selection = ", ".join(f'"{t}"' for t in MUTATION_TESTS)
    with open(work / "pyproject.toml", "a") as config:
        config.write(f"\n[tool.mutmut]\nsource_paths = [\"nova_hookspec\"]\n"
                     f"also_copy = [\"tests\", \"plugins\", \"docs\", \"README.md\"]\n"
                     f"pytest_add_cli_args_test_selection = [{selection}]\n"
                     f"do_not_mutate = [{quoted}]\n")
    session.chdir(work)
    session.run("mutmut", "run", success_codes=[0, 1])
    session.run("mutmut", "results")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML documentation; any warning is an error."""
    session.install(".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")
    session.run("python", "docs/check_build.py", "docs/_build/html")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, plugins and this file; the layer contracts
    of ``.importlinter`` (docs/architecture.md) over the package."""
    session.install("ruff", "import-linter", "-e", ".")
    session.run("ruff", "check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the benchmarks and every example plugin."""
    session.install(".[testing,prometheus]", *(f"./{p}" for p in PLUGINS), "mypy")
    session.run("mypy", "--strict", "nova_hookspec")
    session.run("mypy", "--strict", "benchmarks")
    for plugin in PLUGINS:
        package = next(Path(plugin).glob("nova_hookspec_*/__init__.py")).parent
        session.run("mypy", "--strict", str(package))
