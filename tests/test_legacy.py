"""Classic nova.hooks classes from real distributions, run unchanged."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from conftest import Site

import nova_hookspec
from nova_hookspec import compat as hooks

# Nova's own test hooks (nova/tests/unit/test_hooks.py), as an operator's package.
NOVA_SAMPLES = """
class SampleHookA(object):
    name = "a"

    def _add_called(self, op, kwargs):
        called = kwargs.get("called", None)
        if called is not None:
            called.append(op + self.name)

    def pre(self, *args, **kwargs):
        self._add_called("pre", kwargs)


class SampleHookB(SampleHookA):
    name = "b"

    def post(self, rv, *args, **kwargs):
        self._add_called("post", kwargs)


class SampleHookC(SampleHookA):
    name = "c"

    def pre(self, f, *args, **kwargs):
        self._add_called("pre" + f.__name__, kwargs)

    def post(self, f, rv, *args, **kwargs):
        self._add_called("post" + f.__name__, kwargs)


class SampleHookExceptionPre(SampleHookA):
    name = "epre"
    exception = Exception()

    def pre(self, f, *args, **kwargs):
        raise self.exception


class SampleHookExceptionPost(SampleHookA):
    name = "epost"
    exception = Exception()

    def post(self, f, rv, *args, **kwargs):
        raise self.exception
"""


@pytest.fixture
def samples(site: Site) -> Site:
    site.add_dist("nova-samples", {"nova.hooks": [
        "test_hook = nova_samples:SampleHookA",
        "test_hook = nova_samples:SampleHookB",
        "function_hook = nova_samples:SampleHookC",
        "fail_pre = nova_samples:SampleHookExceptionPre",
        "fail_post = nova_samples:SampleHookExceptionPost",
    ]}, {"nova_samples": NOVA_SAMPLES})
    return site


class Hooked:
    """Decorated with the compat module imported as ``hooks``, as Nova's code was."""

    @hooks.add_hook("test_hook")
    def plain(self, a, b=1, c=2, called=None):
        return 42

    @hooks.add_hook("function_hook", pass_function=True)
    def _hooked(self, a, b=1, c=2, called=None):
        return 42

    @hooks.add_hook("fail_pre", pass_function=True)
    def fail_pre(self, a, b=1, c=2, called=None):
        return 42

    @hooks.add_hook("fail_post", pass_function=True)
    def fail_post(self, a, b=1, c=2, called=None):
        return 42


def test_nova_order_of_execution(samples: Site) -> None:
    called: list[str] = []
    assert Hooked().plain(42, called=called) == 42
    assert called == ["prea", "preb", "postb"]


def test_nova_pass_function(samples: Site) -> None:
    called: list[str] = []
    assert Hooked()._hooked(42, called=called) == 42
    assert called == ["pre_hookedc", "post_hookedc"]


@pytest.mark.parametrize("method", ["fail_pre", "fail_post"])
def test_nova_failing_hook_still_returns(
    samples: Site, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    assert getattr(Hooked(), method)(1) == 42
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    phase = method.split("_")[1]
    assert f"'{method}_{phase}' ({phase} phase)" in record.getMessage()
    assert f"nova-samples:nova_samples:SampleHookException{phase.title()}[{method}]" in (
        record.getMessage()
    )


@pytest.mark.parametrize("method", ["fail_pre", "fail_post"])
def test_nova_fatal_hook_exception_raises(
    samples: Site, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    import nova_samples  # type: ignore[import-not-found]

    cls = getattr(nova_samples, f"SampleHookException{method.split('_')[1].title()}")
    monkeypatch.setattr(cls, "exception", hooks.FatalHookException())
    with pytest.raises(hooks.FatalHookException):
        getattr(Hooked(), method)(1)


def test_compat_names_match_nova_hooks() -> None:
    assert hooks.NS == "nova.hooks"
    assert hooks.FatalHookException is nova_hookspec.FatalHookException
    assert callable(hooks.reset)
    assert callable(hooks.add_hook)


def test_compat_hook_manager_runs_phases_by_hand(samples: Site) -> None:
    called: list[str] = []
    mgr = hooks.HookManager("test_hook")
    mgr.run_pre("test_hook", ("self", 1), {"called": called})
    mgr.run_post("test_hook", 42, ("self", 1), {"called": called})
    assert called == ["prea", "preb", "postb"]
    called.clear()
    mgr = hooks.HookManager("function_hook")
    mgr.run_pre("function_hook", ("self", 1), {"called": called}, f=Hooked._hooked.__wrapped__)
    assert called == ["pre_hookedc"]


TWO_CLASSES = """
import hooklog

class First:
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append("pre-first")
    def post(self, rv, *args, **kwargs):
        hooklog.EVENTS.append(("post-first", rv))

class Second:
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append("pre-second")
    def post(self, rv, *args, **kwargs):
        hooklog.EVENTS.append(("post-second", rv))
"""

TYPED = """
import hooklog
from nova_hookspec import hookimpl

class Typed:
    @hookimpl(tryfirst=True)
    def create_instance_pre(self):
        hooklog.EVENTS.append("pre-typed-first")

    @hookimpl(trylast=True)
    def create_instance_post(self, result):
        hooklog.EVENTS.append(("post-typed-last", result))

    @hookimpl(wrapper=True)
    def create_instance(self):
        instances, rid = yield
        return instances, rid + "-wrapped"

class Late:
    @hookimpl(trylast=True)
    def create_instance_pre(self):
        hooklog.EVENTS.append("pre-typed-last")

PLUGIN = Typed()
LATE = Late()
"""


class API:
    @nova_hookspec.add_hook("create_instance")
    def create(self, context, flavor, image_href, metadata=None, injected_files=None,
               display_name=None):
        self.seen = (dict(metadata or {}), list(injected_files or ()))
        return ["inst"], "r-1"


def two_classes(site: Site) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": [
        "create_instance = acme_legacy:First",
        "create_instance = acme_legacy:Second",
    ]}, {"acme_legacy": TWO_CLASSES})


def test_same_order_in_both_phases(site: Site) -> None:
    two_classes(site)
    API().create("ctx", "m1", "img")
    assert site.events == [
        "pre-first", "pre-second", ("post-first", (["inst"], "r-1")),
        ("post-second", (["inst"], "r-1")),
    ]


def test_typed_order_around_legacy_and_wrapped_result(site: Site) -> None:
    two_classes(site)
    site.add_dist("acme-typed", {"nova_hookspec": [
        "typed = acme_typed:PLUGIN", "late = acme_typed:LATE",
    ]}, {"acme_typed": TYPED})
    assert API().create("ctx", "m1", "img") == (["inst"], "r-1-wrapped")
    wrapped = (["inst"], "r-1-wrapped")
    assert site.events == [
        "pre-typed-first", "pre-first", "pre-second", "pre-typed-last",
        ("post-first", wrapped), ("post-second", wrapped), ("post-typed-last", wrapped),
    ]


def test_operator_orders_a_legacy_class_without_editing_it(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_classes(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_TRYFIRST", "acme_legacy:Second")
    API().create("ctx", "m1", "img")
    assert site.events[:2] == ["pre-second", "pre-first"]
    assert [e[0] for e in site.events[2:]] == ["post-second", "post-first"]


def test_a_class_can_declare_trylast(site: Site) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": [
        "create_instance = acme_legacy:Last",
        "create_instance = acme_legacy:Plain",
    ]}, {"acme_legacy": """
import hooklog
class Last:
    trylast = True
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append("last")
class Plain:
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append("plain")
"""})
    API().create("ctx", "m1", "img")
    assert site.events == ["plain", "last"]


def test_environment_wins_over_the_class_declaration(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": [
        "create_instance = acme_legacy:Plain",
        "create_instance = acme_legacy:Last",
    ]}, {"acme_legacy": """
import hooklog
class Last:
    trylast = True
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append("declared-last")
class Plain:
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append("plain")
"""})
    monkeypatch.setenv("NOVA_HOOKSPEC_TRYFIRST", "create_instance=acme_legacy:Last")
    API().create("ctx", "m1", "img")
    assert site.events == ["declared-last", "plain"]


def test_legacy_pre_changes_arguments_in_place(site: Site) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": ["create_instance = acme_legacy:Mutate"]}, {
        "acme_legacy": """
class Mutate:
    def pre(self, *args, **kwargs):
        kwargs["metadata"].update({"ldap": "registered"})
        args[4].append(("/etc/ldap.conf", b"uri ldap://x"))
"""})

    class OldAPI:
        @nova_hookspec.add_hook("create_instance")
        def create(self, context, instance_type, image_href, injected_files, metadata=None):
            self.seen = (dict(metadata), list(injected_files))
            return ["inst"], "r-1"

    api = OldAPI()
    api.create("ctx", "m1", "img", [], metadata={"team": "blue"})
    assert api.seen == ({"team": "blue", "ldap": "registered"}, [("/etc/ldap.conf", b"uri ldap://x")])


def test_legacy_indexes_positional_arguments(site: Site) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": ["delete_instance = acme_legacy:Dns"]}, {
        "acme_legacy": """
import hooklog
class Dns:
    def post(self, rv, *args, **kwargs):
        hooklog.EVENTS.append(("deregister", args[2].hostname, type(args[0]).__name__))
"""})

    class ComputeManager:
        @nova_hookspec.add_hook("delete_instance")
        def _delete_instance(self, context, instance, bdms):
            return None

    ComputeManager()._delete_instance("ctx", SimpleNamespace(hostname="web-1"), [])
    assert site.events == [("deregister", "web-1", "ComputeManager")]


def test_seeds_logging_demo_hook(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.add_dist("demo_nova_hooks", {"nova.hooks": [
        "create_instance = demo_nova_hooks.simple:SimpleHookCreate"]}, {
        "demo_nova_hooks.__init__": "",
        "demo_nova_hooks.simple": """
import logging
logger = logging.getLogger(__name__)

class SimpleHookCreate(object):
    def pre(self, *args, **kwargs):
        logger.error("[PRE]this is hook1")

    def post(self, *args, **kwargs):
        logger.error("[POST]this is hook1")
"""})
    API().create("ctx", "m1", "img")
    lines = [r.getMessage() for r in caplog.records if r.name == "demo_nova_hooks.simple"]
    assert lines == ["[PRE]this is hook1", "[POST]this is hook1"]


def test_one_instance_per_class_across_many_calls(site: Site) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": ["create_instance = acme_legacy:Counted"]}, {
        "acme_legacy": """
import hooklog
class Counted:
    def __init__(self):
        hooklog.INSTANCES.append(self)
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append(id(self))
"""})
    api = API()
    for _ in range(200):
        api.create("ctx", "m1", "img")
    import hooklog  # type: ignore[import-not-found]

    assert len(hooklog.INSTANCES) == 1
    assert site.events == [id(hooklog.INSTANCES[0])] * 200


def test_build_instance_alias_reaches_the_same_plugins(site: Site) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": ["build_instance = acme_legacy:Build"]}, {
        "acme_legacy": """
import hooklog
class Build:
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append(args[2])
"""})

    @hooks.add_hook("build_instance")
    def old(self, context, instance):
        return "old"

    @nova_hookspec.add_hook("build_and_run_instance")
    def new(self, context, instance):
        return "new"

    assert (old("m", "c", "i-old"), new("m", "c", "i-new")) == ("old", "new")
    assert site.events == ["i-old", "i-new"]


def test_broken_legacy_classes_are_skipped_and_named(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": [
        "create_instance = acme_py2:Hook",
        "create_instance = acme_legacy:Raises",
        "create_instance = acme_legacy:Neither",
        "create_instance = acme_legacy:Works",
    ]}, {
        "acme_py2": 'class Hook(object):\n    def pre(self, *args, **kwargs):\n        print "py2"\n',
        "acme_legacy": """
import hooklog
class Raises:
    def __init__(self):
        raise RuntimeError("no config file")
class Neither:
    pass
class Works:
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append("works")
""",
    })
    assert API().create("ctx", "m1", "img") == (["inst"], "r-1")
    assert site.events == ["works"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 3
    assert "create_instance = acme_py2:Hook" in errors[0]
    assert "SyntaxError" in errors[0]
    assert "acme_legacy:Raises" in errors[1]
    assert "no config file" in errors[1]
    assert "acme_legacy:Neither" in errors[2]
    assert "neither a 'pre' nor a 'post'" in errors[2]
    assert all("acme-legacy" in e for e in errors)
