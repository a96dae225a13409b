"""Developer and CI sessions: ``nox -s tests lint typecheck nova-21 nova-34``."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "plugins", "lint", "typecheck"]

#: The oldest pluggy nova_hookspec supports and the newest: 1.7 fills spec
#: defaults into calls and passes impl keyword defaults, 1.5/1.6 do not.
PLUGGY = ["1.5.0", "1.7.0"]


@nox.session
@nox.parametrize("pluggy", PLUGGY)
def tests(session: nox.Session, pluggy: str) -> None:
    """The test suite against one pluggy release."""
    session.install(".[test]", f"pluggy=={pluggy}")
    session.run("python", "-m", "pytest", *session.posargs, success_codes=[0, 5])


NOVA = {
    "nova-21": ["nova==21.2.4", "oslo.db==8.5.2"],  # the last Nova with nova/hooks.py
    "nova-34": ["nova==34.0.0"],
}


def _nova(session: nox.Session, requirements: list[str]) -> None:
    session.install(*requirements, ".[test]")
    session.run(
        "python", "-m", "pytest", "-o", "filterwarnings=default", "-p", "no:cacheprovider",
        "tests_nova", *session.posargs,
    )


@nox.session(name="nova-21")
def nova_21(session: nox.Session) -> None:
    """The hook points attached to a real Nova 21.2.4 from PyPI."""
    _nova(session, NOVA["nova-21"])


@nox.session(name="nova-34")
def nova_34(session: nox.Session) -> None:
    """The hook points attached to a real Nova 34.0.0 from PyPI."""
    _nova(session, NOVA["nova-34"])


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
    """Per-call cost against Nova's own nova/hooks.py, raw pluggy and a hand loop."""
    session.install(".", "stevedore", "oslo.log", "oslo.i18n")
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
    session.run("python", "benchmarks/run.py", "--nova-hooks", str(nova_dir), *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML documentation; any warning is an error."""
    session.install(".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")
    session.run("python", "docs/check_build.py", "docs/_build/html")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, plugins and this file."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and every example plugin."""
    session.install(".", *(f"./{p}" for p in PLUGINS), "mypy")
    session.run("mypy", "--strict", "nova_hookspec")
    for plugin in PLUGINS:
        package = next(Path(plugin).glob("nova_hookspec_*/__init__.py")).parent
        session.run("mypy", "--strict", str(package))
