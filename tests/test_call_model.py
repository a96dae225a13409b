"""The hooked-call model, with typed plugins loaded from real distributions."""

from __future__ import annotations

import inspect
import logging

import pytest
from conftest import Site

import nova_hookspec
from nova_hookspec import FatalHookException, add_hook


class API:
    """Shaped like nova.compute.api.API (Nova 34 names)."""

    @add_hook("create_instance")
    def create(
        self, context, flavor, image_href, kernel_id=None, min_count=None, max_count=None,
        display_name=None, metadata=None, injected_files=None, legacy_bdm=True,
    ):
        """Provision instances."""
        self.seen = (metadata, injected_files)
        if display_name == "explode":
            raise RuntimeError("nova failed")
        return [f"instance:{display_name}"], "r-1"


def plugin_dist(site: Site, name: str, source: str) -> None:
    module = name.replace("-", "_")
    site.add_dist(
        name,
        {"nova_hookspec": [f"{module} = {module}"]},
        {module: "import hooklog\nfrom nova_hookspec import hookimpl, FatalHookException\n" + source},
    )


OBSERVER = """
@hookimpl{mark}
def create_instance_pre(display_name):
    hooklog.EVENTS.append(("{tag}", "pre", display_name))

@hookimpl{mark}
def create_instance_post(result):
    hooklog.EVENTS.append(("{tag}", "post", result[1]))
"""


def test_phase_order_pre_call_wrapper_post(site: Site) -> None:
    plugin_dist(site, "acme-observer", OBSERVER.format(mark="", tag="obs"))
    plugin_dist(site, "acme-wrapper", """
@hookimpl(wrapper=True)
def create_instance(display_name):
    hooklog.EVENTS.append(("wrap", "before", display_name))
    result = yield
    hooklog.EVENTS.append(("wrap", "after", result[1]))
    return result
""")
    assert API().create("ctx", "m1", "img", display_name="web-1") == (["instance:web-1"], "r-1")
    assert site.events == [
        ("obs", "pre", "web-1"),
        ("wrap", "before", "web-1"),
        ("wrap", "after", "r-1"),
        ("obs", "post", "r-1"),
    ]


def test_tryfirst_and_trylast_within_each_phase(site: Site) -> None:
    # Installed in an order that is not the run order.
    plugin_dist(site, "acme-last", OBSERVER.format(mark="(trylast=True)", tag="last"))
    plugin_dist(site, "acme-plain", OBSERVER.format(mark="", tag="plain"))
    plugin_dist(site, "acme-first", OBSERVER.format(mark="(tryfirst=True)", tag="first"))
    API().create("ctx", "m1", "img", display_name="web-1")
    assert [e[0] for e in site.events if e[1] == "pre"] == ["first", "plain", "last"]
    assert [e[0] for e in site.events if e[1] == "post"] == ["first", "plain", "last"]


def test_wrapper_replaces_the_result(site: Site) -> None:
    plugin_dist(site, "acme-wrapper", """
@hookimpl(wrapper=True)
def create_instance():
    instances, reservation_id = yield
    return instances + ["extra"], reservation_id.upper()
""")
    plugin_dist(site, "acme-observer", OBSERVER.format(mark="", tag="obs"))
    assert API().create("ctx", "m1", "img", display_name="a") == (["instance:a", "extra"], "R-1")
    assert ("obs", "post", "R-1") in site.events  # post observers get the final result


def test_wrapper_sees_and_reraises_the_callables_exception(site: Site) -> None:
    plugin_dist(site, "acme-wrapper", """
@hookimpl(wrapper=True)
def create_instance():
    try:
        return (yield)
    except RuntimeError as exc:
        hooklog.EVENTS.append(("saw", exc))
        raise
""")
    plugin_dist(site, "acme-observer", OBSERVER.format(mark="", tag="obs"))
    with pytest.raises(RuntimeError, match="nova failed") as caught:
        API().create("ctx", "m1", "img", display_name="explode")
    assert site.events[-1] == ("saw", caught.value)  # the very exception object
    assert not [e for e in site.events if e[1] == "post"]  # no post phase after a raise


def test_wrapper_turns_an_exception_into_a_result(site: Site) -> None:
    plugin_dist(site, "acme-wrapper", """
@hookimpl(wrapper=True)
def create_instance():
    try:
        return (yield)
    except RuntimeError:
        return [], "r-fallback"
""")
    plugin_dist(site, "acme-observer", OBSERVER.format(mark="", tag="obs"))
    assert API().create("ctx", "m1", "img", display_name="explode") == ([], "r-fallback")
    assert ("obs", "post", "r-fallback") in site.events


def test_fatal_from_pre_stops_the_call(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    plugin_dist(site, "acme-policy", """
@hookimpl
def create_instance_pre(display_name):
    raise FatalHookException("name refused: " + display_name)
""")
    api = API()
    with pytest.raises(FatalHookException, match="name refused: web-1"):
        api.create("ctx", "m1", "img", display_name="web-1")
    assert not hasattr(api, "seen")  # Nova's code never ran
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "acme-policy:acme_policy" in record.getMessage()
    assert "'create_instance_pre' (pre phase)" in record.getMessage()


def test_fatal_from_post_propagates_after_the_call(site: Site) -> None:
    plugin_dist(site, "acme-post", """
@hookimpl
def create_instance_post(result):
    hooklog.EVENTS.append(("post-ran", result[1]))
    raise FatalHookException("after")
""")
    api = API()
    with pytest.raises(FatalHookException, match="after"):
        api.create("ctx", "m1", "img", display_name="web-1")
    assert api.seen == (None, None)  # the call happened
    assert site.events == [("post-ran", "r-1")]


@pytest.mark.parametrize("hook", ["create_instance_pre", "create_instance_post"])
def test_ordinary_exception_is_logged_and_ignored(
    site: Site, caplog: pytest.LogCaptureFixture, hook: str
) -> None:
    plugin_dist(site, "acme-broken", f"""
@hookimpl(tryfirst=True)
def {hook}():
    raise KeyError("inventory down")
""")
    plugin_dist(site, "acme-observer", OBSERVER.format(mark="", tag="obs"))
    assert API().create("ctx", "m1", "img", display_name="a") == (["instance:a"], "r-1")
    assert [e[:2] for e in site.events] == [("obs", "pre"), ("obs", "post")]
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    message = record.getMessage()
    phase = hook.rsplit("_", 1)[1]
    assert "'acme-broken:acme_broken'" in message
    assert f"hook '{hook}' ({phase} phase)" in message
    assert "KeyError" in message
    assert record.exc_info is not None


def test_in_place_changes_reach_the_callable(site: Site) -> None:
    plugin_dist(site, "acme-mutator", """
@hookimpl
def create_instance_pre(metadata, injected_files, kwargs, args):
    metadata["owner"] = "acme"
    injected_files.append(("/etc/motd", b"hi"))
    kwargs["display_name"] = "renamed"
    hooklog.EVENTS.append(args)
""")
    metadata: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []
    api = API()
    result = api.create("ctx", "m1", "img", metadata=metadata, injected_files=files)
    assert api.seen[0] is metadata
    assert metadata == {"owner": "acme"}
    assert api.seen[1] is files
    assert files == [("/etc/motd", b"hi")]
    assert result == (["instance:renamed"], "r-1")
    assert site.events[0][0] is api  # args[0] is the hooked object itself


def test_decorated_callable_keeps_metadata() -> None:
    assert API.create.__hook_name__ == "create_instance"
    assert API.create.__name__ == "create"
    assert API.create.__doc__ == "Provision instances."
    assert API.create.__wrapped__.__hook_name__ == "create_instance"  # as Nova set it on f


def test_plain_impl_on_call_hook_is_refused() -> None:
    class Replacer:
        @nova_hookspec.hookimpl
        def create_instance(self, flavor):
            return "mine"

    with pytest.raises(nova_hookspec.PluginValidationError, match="takes wrappers only") as err:
        nova_hookspec.get_plugin_manager().register(Replacer(), "replacer")
    assert "'replacer'" in str(err.value)
    assert "create_instance_pre" in str(err.value)


def test_wrapper_that_raises_something_else_counts_as_absent(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    plugin_dist(site, "acme-bad-wrapper", """
@hookimpl(wrapper=True)
def create_instance():
    result = yield
    raise ValueError("wrapper bug")
""")
    assert API().create("ctx", "m1", "img", display_name="a") == (["instance:a"], "r-1")
    with pytest.raises(RuntimeError, match="nova failed"):
        API().create("ctx", "m1", "img", display_name="explode")
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(messages) == 1  # the second time it raised what it was given: no failure
    assert "acme-bad-wrapper" in messages[0]
    assert "(call phase)" in messages[0]


def test_custom_hook_name_has_generic_args_kwargs() -> None:
    @add_hook("resize_hook")
    def resize_instance(self, context, instance, a=1, b=2):
        return a + b

    seen = []

    class Resize:
        @nova_hookspec.hookimpl
        def resize_hook_pre(self, args, kwargs):
            seen.append(("pre", args, kwargs))

        @nova_hookspec.hookimpl(wrapper=True)
        def resize_hook(self):
            return (yield) * 10

        @nova_hookspec.hookimpl
        def resize_hook_post(self, result):
            seen.append(("post", result))

    nova_hookspec.get_plugin_manager().register(Resize())
    assert resize_instance("mgr", "ctx", "inst", b=5) == 60
    assert seen == [("pre", ("mgr", "ctx", "inst"), {"b": 5}), ("post", 60)]

    class Typo:
        @nova_hookspec.hookimpl
        def resize_hook_pre(self, args, instance):
            pass

    with pytest.raises(nova_hookspec.PluginValidationError, match="no argument 'instance'"):
        nova_hookspec.get_plugin_manager().register(Typo())


@pytest.mark.parametrize("name", ["create_instance_pre", "delete_instance_post"])
def test_custom_name_colliding_with_a_phase_hook_is_refused(name: str) -> None:
    with pytest.raises(nova_hookspec.HookDeclarationError, match="already the"):
        add_hook(name)


def test_custom_name_whose_phase_hook_collides_is_refused() -> None:
    add_hook("snapshot")
    with pytest.raises(nova_hookspec.HookDeclarationError, match="'snapshot_pre'"):
        add_hook("snapshot_pre")


def test_no_plugin_means_a_plain_call() -> None:
    calls = []

    @add_hook("instance_network_info")
    def update(impl, context, instance, nw_info=None):
        calls.append((impl, nw_info))
        return "done"

    assert update("net", "ctx", "inst", nw_info=[1]) == "done"
    assert calls == [("net", [1])]
    assert nova_hookspec.get_plugin_manager().dispatch(update.__nova_hookspec__.point) is None


def test_calling_the_call_hook_directly_explains_itself() -> None:
    pm = nova_hookspec.get_plugin_manager()
    with pytest.raises(Exception, match="call the decorated function"):
        pm.hook.delete_instance(
            compute_manager=None, context=None, instance=None, bdms=None, args=(), kwargs={}
        )


def test_wraps_keeps_signature_for_introspection() -> None:
    @add_hook("delete_instance")
    def _delete_instance(self, context, instance, bdms):
        return None

    assert _delete_instance.__wrapped__.__name__ == "_delete_instance"
    assert list(inspect.signature(_delete_instance).parameters) == [
        "self", "context", "instance", "bdms"
    ]



def test_impl_keyword_defaults_are_filled_on_every_pluggy_release() -> None:
    # pluggy 1.7 passes an impl's defaulted parameters, 1.5/1.6 do not: nova_hookspec
    # runs hooks itself, so a plugin gets the real value on both.
    seen = []

    class Defaults:
        @nova_hookspec.hookimpl
        def create_instance_pre(self, flavor=None, metadata="unset"):
            seen.append(("pre", flavor, metadata))

        @nova_hookspec.hookimpl(wrapper=True)
        def create_instance(self, display_name="unset"):
            seen.append(("wrap", display_name))
            return (yield)

    nova_hookspec.get_plugin_manager().register(Defaults())
    API().create("ctx", "m1.small", "img", display_name="web-1")
    assert seen == [("pre", "m1.small", None), ("wrap", "web-1")]


def test_old_style_hookwrapper_can_force_the_result() -> None:
    class OldStyle:
        @nova_hookspec.hookimpl(hookwrapper=True)
        def create_instance(self):
            outcome = yield
            instances, _reservation_id = outcome.get_result()
            outcome.force_result((instances, "forced"))

    nova_hookspec.get_plugin_manager().register(OldStyle())
    assert API().create("ctx", "m1", "img", display_name="a") == (["instance:a"], "forced")
