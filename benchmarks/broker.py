"""Deferred jobs across hosts on RabbitMQ, measured beside Celery and oslo.messaging.

    python benchmarks/broker.py [--jobs N] [--slow-jobs N]

One run, one broker (the machine's RabbitMQ, a virtual host of its own), the
same plugin body everywhere (sleep 0 or 10 ms, then note the time):

* **nova_hookspec**: a process makes the hooked ``create_instance`` calls
  (each writes its job to the host's journal and returns), a relay process
  (``worker --relay-only``, the Nova host's) publishes them with confirms,
  and 1 or 4 worker processes (``worker --no-relay``: one lane runner, one
  connection; the runner runs one job per lane at a time, its lanes side
  by side in executor threads, at most the 8 lanes at once in all) run them;
* **Celery**: a process calls ``apply_async`` (which publishes in the call),
  1 or 4 ``celery worker --pool solo`` processes with ``acks_late=True``
  (one job at a time per process);
* **oslo.messaging**: a process calls a notifier's ``info`` (publishes in the
  call), 1 or 4 notification listener processes (ack after the endpoint;
  the ``threading`` executor, up to 64 endpoint threads per process, no order).

The same number of worker processes for each system; nova_hookspec has the
relay process more (the call side of a Nova host: Celery and oslo.messaging
publish in the call instead).

Reported: jobs per second from the first call to the last plugin end, the
lag from a call's return to its plugin's end (p50, p99), and the time of
the call itself (what the job adds to Nova's call: for nova_hookspec the
journal's commit, for the others the publish); then nova_hookspec's calls
with RabbitMQ stopped. Nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

PLUGIN_BODY = '''
import os, time
def work(sent_at):
    time.sleep(float(os.environ["BENCH_SLOW"]))
    with open(os.environ["BENCH_OUT"], "a") as out:
        out.write(f"{sent_at} {time.time()}\\n")
'''

NOVA_PLUGIN = '''
import nova_hookspec
from bench_body import work

class Bench:
    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, result, delivery):
        work(delivery.enqueued_at)

BENCH = Bench()
'''

NOVA_CALLS = '''
import sys, time
import nova_hookspec
from nova_hookspec._nova.standins import Instance, RequestContext

@nova_hookspec.add_hook("create_instance")
def create(self, context, flavor, image_href):
    return [Instance(hostname=image_href)], "r-" + image_href

ctx = RequestContext()
took = []
for n in range(int(sys.argv[1])):
    began = time.perf_counter()
    create(None, ctx, "m1", f"s{n}")
    took.append(time.perf_counter() - began)
with open(sys.argv[2], "w") as out:
    out.write("\\n".join(map(str, took)))
'''

CELERY_APP = '''
import os
from celery import Celery
from bench_body import work

app = Celery("bench", broker=os.environ["BENCH_AMQP"])
app.conf.task_acks_late = True
app.conf.task_default_queue = "bench"
app.conf.worker_hijack_root_logger = False

@app.task
def job(sent_at):
    work(sent_at)
'''

CELERY_CALLS = '''
import sys, time
from bench_celery import job
took = []
for n in range(int(sys.argv[1])):
    began = time.perf_counter()
    job.apply_async((time.time(),))
    took.append(time.perf_counter() - began)
with open(sys.argv[2], "w") as out:
    out.write("\\n".join(map(str, took)))
'''

OSLO_LISTENER = '''
import os, sys, threading
from oslo_config import cfg
import oslo_messaging
from bench_body import work

class Endpoint:
    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        work(payload["sent_at"])

transport = oslo_messaging.get_notification_transport(cfg.CONF, url=os.environ["BENCH_RABBIT"])
listener = oslo_messaging.get_notification_listener(
    transport, [oslo_messaging.Target(topic="bench")], [Endpoint()], executor="threading",
    allow_requeue=True)
listener.start()
print("ready", flush=True)
threading.Event().wait()
'''

OSLO_CALLS = '''
import os, sys, time
from oslo_config import cfg
import oslo_messaging
transport = oslo_messaging.get_notification_transport(cfg.CONF, url=os.environ["BENCH_RABBIT"])
notifier = oslo_messaging.Notifier(transport, "bench", driver="messaging", topics=["bench"])
took = []
for n in range(int(sys.argv[1])):
    began = time.perf_counter()
    notifier.info({}, "bench.job", {"sent_at": time.time()})
    took.append(time.perf_counter() - began)
with open(sys.argv[2], "w") as out:
    out.write("\\n".join(map(str, took)))
'''


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


class Bench:
    def __init__(self, root: Path, vhost: str) -> None:
        self.root = root
        self.site = root / "site"
        self.site.mkdir()
        for name, text in (("bench_body", PLUGIN_BODY), ("bench_nova", NOVA_PLUGIN),
                           ("bench_nova_calls", NOVA_CALLS), ("bench_celery", CELERY_APP),
                           ("bench_celery_calls", CELERY_CALLS),
                           ("bench_oslo_listener", OSLO_LISTENER),
                           ("bench_oslo_calls", OSLO_CALLS)):
            (self.site / f"{name}.py").write_text(textwrap.dedent(text))
        info = self.site / "bench_plugin-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-plugin\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text("[nova_hookspec]\nbench = bench_nova:BENCH\n")
        self.rabbit = f"rabbit://guest:guest@127.0.0.1:5672/{vhost}"
        self.amqp = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NOVA_HOOKSPEC_")}
        self.env.update(PYTHONPATH=os.pathsep.join([str(self.site), *sys.path]),
                        BENCH_RABBIT=self.rabbit, BENCH_AMQP=self.amqp,
                        NOVA_HOOKSPEC_TRANSPORT_URL=self.rabbit,
                        NOVA_HOOKSPEC_BROKER_PREFIX="bench", NOVA_HOOKSPEC_JOURNAL_SYNC="full")
        self.runs = 0

    def _processes(self, commands: list[list[str]], env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
        log = open(self.root / "bench.log", "ab")  # noqa: SIM115 - closed with the processes
        return [subprocess.Popen(c, env=env, stdout=log, stderr=log) for c in commands]

    def measure(self, system: str, workers: int, slow: float, jobs: int) -> dict[str, float]:
        self.runs += 1
        out = self.root / f"out-{self.runs}.txt"
        took = self.root / f"calls-{self.runs}.txt"
        env = {**self.env, "BENCH_OUT": str(out), "BENCH_SLOW": str(slow),
               "NOVA_HOOKSPEC_JOURNAL": str(self.root / f"journal-{self.runs}.sqlite"),
               "NOVA_HOOKSPEC_BROKER_PREFIX": f"bench{self.runs}"}
        py = sys.executable
        if system == "nova_hookspec":
            consumers = [[py, "-m", "nova_hookspec", "worker", "--no-relay"]
                         for _ in range(workers)]
            helpers = [[py, "-m", "nova_hookspec", "worker", "--relay-only"]]
            calls = [py, "-c", "import bench_nova_calls", str(jobs), str(took)]
        elif system == "celery":
            consumers = [[py, "-m", "celery", "-A", "bench_celery", "worker", "--pool", "solo",
                          "-n", f"w{n}-{self.runs}@bench", "-Q", "bench", "--without-gossip",
                          "--without-mingle", "--without-heartbeat", "-l", "warning"]
                         for n in range(workers)]
            helpers = []
            calls = [py, "-c", "import bench_celery_calls", str(jobs), str(took)]
        else:
            consumers = [[py, "-c", "import bench_oslo_listener"] for _ in range(workers)]
            helpers = []
            calls = [py, "-c", "import bench_oslo_calls", str(jobs), str(took)]
        running = self._processes(consumers + helpers, env)
        try:
            time.sleep(6)  # consumers connected and (ours) lanes shared out
            started = time.time()
            subprocess.run(calls, env=env, check=True, timeout=600)
            deadline = time.time() + 600
            while (not out.exists() or len(out.read_text().splitlines()) < jobs) \
                    and time.time() < deadline:
                time.sleep(0.05)
        finally:
            for process in running:
                process.terminate()
            for process in running:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        rows = [tuple(map(float, line.split())) for line in out.read_text().splitlines()]
        ends = [end for _sent, end in rows]
        lags = sorted((end - sent) * 1000 for sent, end in rows)
        call_ms = sorted(float(t) * 1000 for t in took.read_text().split())
        return {"jobs": len(rows), "per_s": len(rows) / (max(ends) - started),
                "p50": pick(lags, 0.5), "p99": pick(lags, 0.99),
                "call_p50": pick(call_ms, 0.5), "call_p99": pick(call_ms, 0.99)}

    def calls_broker_down(self, jobs: int) -> dict[str, float]:
        """The hooked calls' time with RabbitMQ stopped (the relay waits; calls go on)."""
        self.runs += 1
        took = self.root / f"calls-{self.runs}.txt"
        env = {**self.env, "NOVA_HOOKSPEC_JOURNAL": str(self.root / f"down-{self.runs}.sqlite"),
               "BENCH_OUT": str(self.root / "unused.txt"), "BENCH_SLOW": "0"}
        relay = self._processes([[sys.executable, "-m", "nova_hookspec", "worker",
                                  "--relay-only"]], env)
        rabbitmqctl("stop_app")
        try:
            subprocess.run([sys.executable, "-c", "import bench_nova_calls", str(jobs),
                            str(took)], env=env, check=True, timeout=600)
        finally:
            rabbitmqctl("start_app")
            for process in relay:
                process.terminate()
                process.wait()
        calls = sorted(float(t) * 1000 for t in took.read_text().split())
        return {"call_p50": pick(calls, 0.5), "call_p99": pick(calls, 0.99)}


def pick(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per run, 0 ms plugin")
    parser.add_argument("--slow-jobs", type=int, default=400, help="jobs per run, 10 ms plugin")
    parser.add_argument("--systems", default="nova_hookspec,celery,oslo.messaging")
    parser.add_argument("--workers", default="1,4", help="worker processes per run")
    parser.add_argument("--plugin-ms", default="0,10", help="the plugins' sleeps to run")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a nova_hookspec setting for its processes (create_wait=0: "
                             "no receipts), as NOVA_HOOKSPEC_NAME")
    parser.add_argument("--no-broker-down", action="store_true",
                        help="skip the calls with RabbitMQ stopped (stop_app stops the "
                             "broker for everyone on it)")
    args = parser.parse_args(argv)
    vhost = f"nova-hookspec-bench-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bench = Bench(Path(tmp), vhost)
            for name, _, value in (s.partition("=") for s in args.setting):
                bench.env[f"NOVA_HOOKSPEC_{name.upper()}"] = value
            for slow, jobs in ((0.0, args.jobs), (0.01, args.slow_jobs)):
                if f"{slow * 1000:g}" not in args.plugin_ms.split(","):
                    continue
                for workers in map(int, args.workers.split(",")):
                    for system in args.systems.split(","):
                        found = bench.measure(system, workers, slow, jobs)
                        results.append({"system": system, "workers": workers,
                                        "plugin_ms": slow * 1000, **found})
                        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
            down = None if args.no_broker_down else bench.calls_broker_down(args.slow_jobs)
    finally:
        rabbitmqctl("delete_vhost", vhost)
    print("### Across hosts on RabbitMQ (jobs per second end to end, lag call -> plugin end)")
    print()
    print(f"{'plugin':<8}{'workers':>8}  {'system':<16}{'jobs':>6}{'jobs/s':>9}"
          f"{'vs Celery':>11}{'lag p50':>11}{'lag p99':>11}{'call p50':>11}{'call p99':>11}")
    for row in results:
        celery = [r for r in results if r["system"] == "celery" and
                  r["workers"] == row["workers"] and r["plugin_ms"] == row["plugin_ms"]]
        ratio = f"{row['per_s'] / celery[0]['per_s']:.2f}x" if celery else "-"
        print(f"{row['plugin_ms']:>4.0f} ms{row['workers']:>8}  {row['system']:<16}"
              f"{row['jobs']:>6.0f}{row['per_s']:>9.0f}{ratio:>11}{row['p50']:>8.1f} ms"
              f"{row['p99']:>8.1f} ms{row['call_p50']:>8.3f} ms{row['call_p99']:>8.3f} ms")
    if down is None:
        return 0
    print()
    print(f"nova_hookspec's hooked call with RabbitMQ stopped ({args.slow_jobs} calls, the relay "
          f"waiting): p50 {down['call_p50']:.3f} ms, p99 {down['call_p99']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
