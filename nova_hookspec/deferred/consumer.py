"""The worker's broker side: runs the deferred jobs of every host from RabbitMQ.

A worker process has ``--lanes`` runners (threads), each with a connection
of its own. A runner takes lane queues (:mod:`.brokers.rabbit`) as an
*exclusive* consumer, so that each lane queue has one consumer in the
whole cloud, and runs each lane's jobs one at a time in the lane's order
(:mod:`.lanes`), its lanes side by side (:mod:`.lane_pool`): one instance's
jobs of one plugin run in order whichever worker runs them.

Which lanes a runner holds, the lane's record it reads when it takes one,
and when its acks go: :mod:`.sharing`. What has finished on a lane is
recorded on the broker (:mod:`.lane_record`), so that a job delivered again
(a relay's re-publish, a change of holder) is acked without running, and a
create whose instance's delete finished never runs.

Acks: a job is acked after its plugin returned and its record is on the
broker (at-least-once). Each run goes through :mod:`.execution` as on one
host: under its time limit (a hung plugin's run fails at its limit and the
runner moves on; the late return of the hung call records nothing: no ack,
no record), with the retry policy of its plugin. A failed run stays unacked
at its place and runs again after the backoff (:mod:`.middleware.retries`),
holding its instance's later jobs; a job that used its attempts is
published to the dead letters (confirmed) and then acked. Just before a job
runs, the lane's record is looked at: a job that finished is acked without
running, as is a create whose instances' delete finished (recorded as
such). A delivery that is not a job goes to the dead letters (:mod:`.unreadable`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
import time
from typing import Any, Callable

from nova_hookspec._plugins import config as _config
from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred import lifecycle, liveness, unreadable
from nova_hookspec.deferred.brokers.rabbit import HEARTBEAT, Rabbit, why_unreachable
from nova_hookspec.deferred.execution import NOT_STARTED, Execution, Outcome, log_outcome
from nova_hookspec.deferred.jobs import Job
from nova_hookspec.deferred.lane_pool import LanePool
from nova_hookspec.deferred.lanes import Held, kind_of
from nova_hookspec.deferred.message import LaneMessage, job_of
from nova_hookspec.deferred.middleware.overrides import Policies
from nova_hookspec.deferred.reconnect import FIRST, Backoff, connections
from nova_hookspec.deferred.settings import SettingError, Settings
from nova_hookspec.deferred.sharing import BALANCE_EVERY, LaneHolder, Shared

log = logging.getLogger("nova_hookspec.worker")


def deferred_plugins(pm: NovaPluginManager) -> list[str]:
    """The plugins with a deferred observer in ``pm``: whose lanes a worker runs."""
    return sorted({plugin for plugin, _hook in pm.deferred})


class Runner(LaneHolder):
    """One lane runner: a connection, its lane queues, one job per lane at a time."""

    def __init__(self, name: str, rabbit: Rabbit, pm: NovaPluginManager, settings: Settings,
                 shared: Shared, stopping: threading.Event,
                 observe: Callable[[Job, float, str], None] | None = None) -> None:
        self.name = name
        self.rabbit = rabbit
        self.pm = pm
        self.settings = settings
        self.shared = shared
        self.stopping = stopping
        self.observe = observe
        self.plugins = deferred_plugins(pm)
        super().__init__()
        self.finished = threading.Event()
        self.execution = shared.execution or Execution(pm, Policies(pm.deferred, settings))
        #: The runs' threads; the connection's generation drops the outcomes of runs
        #: whose lanes went with a lost connection (``self.running``: the runs going on).
        self.pool: LanePool[tuple[int, str, Held]] = LanePool(name, self.execution.run,
                                                              shared.hung)
        #: Its connections counted; a run handed over on one starts only on it.
        self.gate = liveness.StartGate(self.pool.wake)
        #: When this round looked for a stall (monotonic): the gate counts a run's wait
        #: from there (a stop between that look and the hand-over counts too).
        self.round_began = 0.0
        #: When this runner's loop last went round (the metrics' liveness).
        self.last_loop = 0.0
        #: Unreadable deliveries to move to the dead letters: (queue, tag, body, reason).
        self.poisoned: list[tuple[str, int, Any, str]] = []

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        try:
            for conn in connections(
                    lambda: self.rabbit.connect(confirms=False, heartbeat=HEARTBEAT),
                    self.stopping, Backoff(), self._unreachable, self._looped):
                try:
                    self._serve(conn)
                except liveness.LostLane as exc:
                    log.warning("lane runner %s lost its connection while a job ran (%s): "
                                "that run's outcome is not recorded, the lanes' next holders "
                                "run their jobs", self.name, exc)
                except Exception as exc:  # noqa: BLE001 - connection lost: start over
                    self.gate.lost()  # now, not after the pause below
                    log.warning("lane runner %s lost the broker (%s: %s); its lanes go back",
                                self.name, type(exc).__name__, exc)
                    self.stopping.wait(FIRST)
                finally:
                    self._forget_lanes()
        finally:
            self.pool.close()
            self.finished.set()

    def _looped(self) -> None:
        self.last_loop = time.time()

    def _unreachable(self, exc: BaseException, wait: float) -> None:
        log.warning("lane runner %s: %s; again in %.1f s", self.name,
                    why_unreachable(self.rabbit.broker, exc), wait)

    def _serve(self, conn: Any) -> None:
        self.conn = conn
        self.confirms = self.rabbit.confirms(conn)
        control = self.confirms.channel
        self.rabbit.declare(control, self.plugins)
        control.basic_consume(self.rabbit.roll_call, no_ack=True, callback=lambda _m: None)
        next_balance = 0.0
        sock = conn.connection.transport.sock
        self.round_began, waited = time.monotonic(), 0.0  # and the round's planned wait
        while not self.stopping.is_set() or self.running:  # stopping: the runs end first
            now = self.last_loop = time.time()
            checked = time.monotonic()  # a stop from here on counts in the next look
            if checked - self.round_began - waited > liveness.STALL or self.gate.wanted():
                # This process stood still (SIGSTOP, a frozen VM): its lanes may have
                # gone with its connection, and the jobs it holds run elsewhere. Start
                # nothing before the broker answers (raises LostLane if they went),
                # the runs handed over before the stall included (the gate).
                self.gate.fence(conn, control, self.rabbit.roll_call, since=checked)
            self.round_began = checked
            waited = 0.0
            self._record_finished()
            until = now + 1.0
            if not self.stopping.is_set():
                if now >= next_balance:
                    self._balance(conn, control)
                    self._reread_receipts(conn, now)
                    next_balance = now + BALANCE_EVERY
                wake = self._start_runs(now)
                until = min(next_balance, wake or next_balance)
            # wait: a delivery, a run's end, a retry's time (not when a held run asked
            # after this round's look: its wake-up byte may have been read meanwhile)
            if not liveness.readable(conn) and not self.gate.wanted():
                self.settle()  # first, ack what finished
                waited = max(0.001, until - now)
                select.select([sock, self.pool.fileno()], [], [], waited)
            liveness.drain(conn)  # take what arrived, without waiting
            conn.heartbeat_check()  # sends ours; raises once the broker's stopped coming
            self._bury()
        self.settle()  # the records published so far are on the broker, their jobs acked

    # ------------------------------------------------------------ the lanes

    def _reread_receipts(self, conn: Any, now: float) -> None:
        """Read again the record of the lanes where a delete waits for its create: a
        multi-create runs in its first instance's lane and leaves its create fact in
        the lanes of the others too (:meth:`_finished`)."""
        for queue in list(self.mine):
            order = self._order(queue)
            if any(held.kind == "delete" and order.waits_for_create(held, now)
                   for held in order.held):
                self._read_record(conn, queue, fresh=False)
                order.saw_create(self._record(queue).created_keys())

    def _delivered(self, queue: str, message: Any) -> None:
        try:
            body = unreadable.read(message.body)
        except unreadable.UnreadableError as exc:  # dead-lettered from the loop, not here
            self.poisoned.append((queue, message.delivery_tag, message.body, str(exc)))
            return
        with self.shared.lock:
            attempts, history = self.shared.attempts.get(body["id"], (0, []))
        self._order(queue).add(Held(message.delivery_tag, body, attempts, 0.0, False,
                                    list(history)))

    def _skipped(self, queue: str, tag: int, message: LaneMessage) -> bool:
        """Whether the lane's record says not to run this job, looked at just before
        its run (not in the delivery's callback, which may come while the record is
        read): it finished already, or it is a create whose instances' delete finished
        (recorded now). It is acked (once the broker confirmed what this runner
        published before)."""
        record = self._record(queue)
        what = f"deferred job {message['id']} ({message['plugin']}, {message['hook']})"
        if record.has_run(message):
            log.info("%s finished already on %s (the lane's record): acknowledged without "
                     "running it", what, queue)
        elif kind_of(message["hook"]) == "create" and record.was_deleted(message["keys"]):
            entry, expires = record.finished(message, "create", time.time(), ran=False)
            self.confirms.publish(self.rabbit.receipts(queue), entry, expires)
            log.warning("%s not run: the delete of its instance(s) finished on %s (the "
                        "lane's record); acknowledged", what, queue)
        else:
            return False
        self.ack_later(queue, tag)
        return True

    def _bury(self) -> None:
        """Move the unreadable deliveries to the dead letters (confirmed), then ack
        them: their lanes go on."""
        if not self.poisoned:
            return
        buried, self.poisoned = self.poisoned, []
        letters = [unreadable.dead_letter(queue, self.rabbit.plugin_of(queue), body, reason)
                   for queue, _tag, body, reason in buried]
        for letter in letters:
            self.confirms.publish(self.rabbit.dead_queue, letter)
        self.confirms.wait()
        for (queue, tag, _body, reason), letter in zip(buried, letters):
            if queue in self.mine:
                self.mine[queue].basic_ack(tag)
            log.error("lane runner %s: unreadable message in %s (%d bytes): %s; moved to the "
                      "dead letters as %s, the lane goes on", self.name, queue,
                      letter["raw_size"], reason, letter["id"])

    def _start_runs(self, now: float) -> float | None:
        """Start the next job that may run of each lane with no run going; when the
        earliest lane with none ready may have one without a new delivery."""
        wake: float | None = None
        for queue in list(self.mine):
            while queue not in self.running:
                held, when = self._order(queue).next(now)
                if held is None:
                    if when is not None:
                        wake = when if wake is None else min(wake, when)
                    break
                if self._skipped(queue, held.tag, held.message):  # it ran, or must not
                    self._order(queue).finished(held)
                    continue
                if held.kind == "delete" and held.keys & self.creates_to_ack:
                    self.settle()  # its create's record first: never a create after it
                self._start(queue, held)
        return wake

    # ------------------------------------------------------------ one job

    def _start(self, queue: str, held: Held) -> None:
        m = held.message
        held.attempts += 1
        job = job_of(m, held.attempts, held.history)
        held.running = True
        self.running[queue] = held
        self.pool.submit((self.gate.generation, queue, held), job,
                         self.gate.admission(self.round_began))

    def _record_finished(self) -> None:
        """Record the outcomes of the runs that ended, after one fence for all of
        them (:meth:`.liveness.StartGate.fence`; raises :class:`.liveness.LostLane` if
        the broker closed the connection meanwhile: none of them is recorded)."""
        ended = []
        for (generation, queue, held), job, outcome in self.pool.finished():
            if generation == self.gate.generation and self.running.get(queue) is held:
                ended.append((queue, held, job, outcome))
            else:  # its lane went with a lost connection
                self._not_recorded(job, outcome)
        if self.shared.hung.too_many():
            self._too_many_hung()
        if not ended:
            return
        try:  # the runs held at the gate start too
            self.gate.fence(self.conn, self.confirms.channel, ended[0][0])
        except liveness.LostLane:
            for _queue, _held, job, outcome in ended:
                self._not_recorded(job, outcome)
            raise
        for queue, held, job, outcome in ended:
            del self.running[queue]
            held.running = False
            self._outcome(queue, held, job, outcome)

    def _not_recorded(self, job: Job, outcome: Outcome) -> None:
        if outcome.status == NOT_STARTED:
            log.warning("lane runner %s lost its connection before deferred job %s "
                        "started: not started, its lane's next holder runs it", self.name,
                        job.delivery().job_id)
            return
        log.warning("lane runner %s lost its connection while a job ran: the %s of deferred "
                    "job %s is not recorded, its lane's next holder runs it", self.name,
                    outcome.status, job.delivery().job_id)

    def _outcome(self, queue: str, held: Held, job: Job, outcome: Outcome) -> None:
        if outcome.status != "done":
            self._failed(queue, held, job, outcome)
            return
        self._finished(queue, held)
        log_outcome(job, outcome, self.execution.policy(job))
        if self.observe is not None:
            self.observe(job, outcome.seconds, outcome.metric)

    def _forget_lanes(self) -> None:
        self.gate.lost()  # first: no run handed over on the lost connection starts
        super()._forget_lanes()

    def _too_many_hung(self) -> None:
        """More runs hung than :data:`.middleware.time_limit.MAX_HUNG`: end the process
        now, with status 1 (:func:`.lifecycle.abort`), for its service manager to start
        a fresh one. Nothing is lost: the unacked jobs go back to their lanes with the
        connections, and the relay's unconfirmed batch stays in the outbox."""
        with contextlib.suppress(Exception):  # the jobs that finished: acked, not run again
            self.settle()
        lifecycle.abort(self.name.rsplit("/", 1)[0],
                        f"{self.shared.hung.count} runs are hung past their time limit "
                        f"(more than {self.shared.hung.bound})")

    def _finished(self, queue: str, held: Held) -> None:
        """``held`` finished (done or dead): its record's message published, its ack
        once the broker confirmed it, its place in the lane free."""
        entry, expires = self._record(queue).finished(held.message, held.kind, time.time())
        self.confirms.publish(self.rabbit.receipts(queue), entry, expires)
        if held.kind == "create" and self.settings.create_wait > 0:
            # A multi-create runs in its first instance's lane: the lanes of the others
            # hear of it too, for their deletes waiting on it.
            plugin = self.rabbit.plugin_of(queue)
            keys = [str(key) for key in held.message.get("keys", ())]
            for lane in sorted({self.rabbit.lane_for(plugin, key) for key in keys} - {queue}):
                fact = {"id": "record", "v": 1, "at": time.time(), "ran": [], "keys": keys}
                self.confirms.publish(self.rabbit.receipts(lane), fact,
                                      self.settings.create_wait)
        with self.shared.lock:
            self.shared.attempts.pop(held.message["id"], None)
        self._order(queue).finished(held)
        self.ack_later(queue, held.tag, held.keys if held.kind == "create" else ())

    def _failed(self, queue: str, held: Held, job: Job, outcome: Outcome) -> None:
        m = held.message
        held.history = [*held.history, {"attempt": held.attempts, "at": time.time(),
                                        "error": outcome.error}][-20:]
        if outcome.status == "dead":
            dead = {**m, "history": held.history, "died_at": time.time()}
            self.confirms.publish(self.rabbit.dead_queue, dead)
            self._finished(queue, held)
            self.settle()  # acked now: a crash must not make a second dead letter
        else:
            held.due = time.time() + outcome.delay
            with self.shared.lock:
                self.shared.attempts[m["id"]] = (held.attempts, held.history)
        log_outcome(job, outcome, self.execution.policy(job), holding=True)
        if self.observe is not None:
            self.observe(job, outcome.seconds, outcome.metric)

    def holding(self) -> int:
        """Jobs this runner holds unacked now."""
        return sum(len(self._order(queue).held) for queue in list(self.mine))

    def held_since(self) -> list[float]:
        """When each job this runner holds unacked now was enqueued."""
        return [float(held.message["enqueued_at"]) for queue in list(self.mine)
                for held in list(self._order(queue).held)]


class BrokerWorker:
    """``lanes`` runners over the broker's lane queues of ``pm``'s deferred plugins."""

    def __init__(self, rabbit: Rabbit, pm: NovaPluginManager, settings: Settings, *,
                 lanes: int = 1, observe: Callable[[Job, float, str], None] | None = None
                 ) -> None:
        self.stopping = threading.Event()
        self.execution = Execution(pm, Policies(pm.deferred, settings))
        self.shared = Shared(self.execution)
        name = f"{_config.raw_option('DEFAULT', 'host') or socket.gethostname()}:{os.getpid()}"
        self.runners = [Runner(f"{name}/{n}", rabbit, pm, settings, self.shared,
                               self.stopping, observe) for n in range(max(1, lanes))]

    def check(self) -> None:
        """A plugin's nonsense policy value stops the worker, as on one host (status 2).

        :raises .lifecycle.Refused: naming the plugin and the value."""
        try:
            self.execution.policies.check_all()
        except SettingError as exc:
            raise lifecycle.Refused(lifecycle.REFUSED_POLICY,
                                    f"nova_hookspec worker: {exc}") from None

    def start(self) -> None:
        for runner in self.runners:
            threading.Thread(target=runner.run, name=runner.name, daemon=True).start()

    def wait(self, deadline: float) -> bool:
        """After :meth:`stop`: wait until ``deadline`` (``time.monotonic()``); whether
        all runners ended."""
        for runner in self.runners:
            runner.finished.wait(max(0.0, deadline - time.monotonic()))
        return all(r.finished.is_set() for r in self.runners)

    def stop(self) -> None:
        self.stopping.set()
