"""Plugins that watch Nova's functional tests (``nox -s nova-functional``).

* ``RECORDER``: a typed observer on every ``*_pre`` and ``*_post`` hook of the
  four points; it records the hook, the instance and the type of every
  argument it is given;
* ``WRAPPER``: a typed wrapper on every call hook that returns Nova's result
  unchanged (with ``NOVA_HOOKSPEC_PROBE_FAULT=swallow`` it turns Nova's
  exceptions into ``None`` instead: the deliberate fault that must make the
  comparison fail);
* ``FAILING``: raises in every ``*_post`` observer;
* ``LegacyRecorder``: a classic ``nova.hooks`` class on the four legacy hook
  names, recording what Nova (or nova_hookspec) calls it with;
* ``POSTS``: a typed post observer on the four points asking only for what a
  deferred observer can be given; it records like ``RECORDER``. The
  ``attached-deferred`` run defers it (``NOVA_HOOKSPEC_DEFERRED=posts``), the
  ``attached`` run does not: what it records must be the same.

Records are JSON lines appended to ``$NOVA_HOOKSPEC_PROBE_RECORD``.
"""

import json
import os

from nova_hookspec import hookimpl

POINTS = ("create_instance", "build_and_run_instance", "delete_instance",
          "instance_network_info")


def _record(**entry):
    path = os.environ.get("NOVA_HOOKSPEC_PROBE_RECORD")
    if path:
        entry["test"] = os.environ.get("NOVA_HOOKSPEC_PROBE_TEST", "")
        with open(path, "a") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")


def _type(value):
    return type(value).__name__


def _uuid(value):
    return getattr(value, "uuid", None) if value is not None else None


def _observed(point, phase, instances, **named):
    _record(plugin="typed", hook=point, phase=phase, instances=instances,
            types={name: _type(value) for name, value in sorted(named.items())})


def _created(result):
    return [_uuid(i) for i in result[0]] if isinstance(result, tuple) else []


class Recorder:
    """Typed observer on every pre and post hook."""

    @hookimpl
    def create_instance_pre(self, compute_api, context, flavor, max_count, args, kwargs):
        _observed("create_instance", "pre", [], compute_api=compute_api, context=context,
                  flavor=flavor, max_count=max_count)

    @hookimpl
    def create_instance_post(self, result, compute_api, context, flavor):
        _observed("create_instance", "post", _created(result), result=result,
                  compute_api=compute_api, context=context, flavor=flavor,
                  result_0=result[0] if isinstance(result, tuple) else None)

    @hookimpl
    def build_and_run_instance_pre(self, compute_manager, context, instance, node):
        _observed("build_and_run_instance", "pre", [_uuid(instance)],
                  compute_manager=compute_manager, context=context, instance=instance)

    @hookimpl
    def build_and_run_instance_post(self, result, compute_manager, instance):
        _observed("build_and_run_instance", "post", [_uuid(instance)], result=result,
                  compute_manager=compute_manager, instance=instance)

    @hookimpl
    def delete_instance_pre(self, compute_manager, context, instance, bdms):
        _observed("delete_instance", "pre", [_uuid(instance)], compute_manager=compute_manager,
                  context=context, instance=instance, bdms=bdms)

    @hookimpl
    def delete_instance_post(self, result, instance):
        _observed("delete_instance", "post", [_uuid(instance)], result=result,
                  instance=instance)

    @hookimpl
    def instance_network_info_pre(self, network_api, context, instance, nw_info):
        _observed("instance_network_info", "pre", [_uuid(instance)], network_api=network_api,
                  context=context, instance=instance, nw_info=nw_info)

    @hookimpl
    def instance_network_info_post(self, result, instance, nw_info):
        _observed("instance_network_info", "post", [_uuid(instance)], result=result,
                  instance=instance, nw_info=nw_info)


class Wrapper:
    """Typed wrapper on every call hook: Nova's result, unchanged."""


def _make_wrapper(point):
    def wrap(self):
        try:
            result = yield
        except Exception as exc:
            _record(plugin="wrapper", hook=point, phase="call", raised=_type(exc))
            if os.environ.get("NOVA_HOOKSPEC_PROBE_FAULT") == "swallow":
                return None
            raise
        _record(plugin="wrapper", hook=point, phase="call", raised=None)
        return result

    return hookimpl(wrapper=True, specname=point)(wrap)


for _point in POINTS:
    setattr(Wrapper, f"wrap_{_point}", _make_wrapper(_point))


class Failing:
    """Raises in every post observer."""


def _make_failing(point):
    def fail(self):
        raise RuntimeError(f"probe: failing on purpose in {point}_post")

    return hookimpl(specname=f"{point}_post")(fail)


for _point in POINTS:
    setattr(Failing, f"fail_{_point}", _make_failing(_point))


def _posted(point, instances, **named):
    _record(plugin="posts", hook=point, phase="post", instances=instances,
            types={name: _type(value) for name, value in sorted(named.items())})


class Posts:
    """Post observers on the four points, with arguments a worker can be given."""

    @hookimpl
    def create_instance_post(self, result, context, flavor):
        _posted("create_instance", _created(result), result=result, context=context,
                flavor=flavor, result_0=result[0] if isinstance(result, tuple) else None,
                instance_0=result[0][0] if isinstance(result, tuple) and result[0] else None)

    @hookimpl
    def build_and_run_instance_post(self, result, context, instance, node):
        _posted("build_and_run_instance", [_uuid(instance)], result=result, context=context,
                instance=instance, node=node)

    @hookimpl
    def delete_instance_post(self, result, context, instance, bdms):
        _posted("delete_instance", [_uuid(instance)], result=result, context=context,
                instance=instance, bdms=bdms)

    @hookimpl
    def instance_network_info_post(self, result, context, instance, nw_info):
        _posted("instance_network_info", [_uuid(instance)], result=result, context=context,
                instance=instance, nw_info=nw_info)


class LegacyRecorder:
    """A classic nova.hooks class: records hook, phase and argument shapes."""

    hook = "?"

    def pre(self, *args, **kwargs):
        self._record("pre", args, kwargs)

    def post(self, rv, *args, **kwargs):
        self._record("post", args, kwargs, rv)

    def _record(self, phase, args, kwargs, rv=None):
        _record(plugin="legacy", hook=self.hook, phase=phase,
                args=[_type(a) for a in args], kwargs=sorted(kwargs),
                rv=_type(rv) if phase == "post" else None)


class LegacyCreate(LegacyRecorder):
    hook = "create_instance"


class LegacyBuild(LegacyRecorder):
    hook = "build_instance"


class LegacyDelete(LegacyRecorder):
    hook = "delete_instance"


class LegacyNetwork(LegacyRecorder):
    hook = "instance_network_info"


RECORDER = Recorder()
WRAPPER = Wrapper()
FAILING = Failing()
POSTS = Posts()
