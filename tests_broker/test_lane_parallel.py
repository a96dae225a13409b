"""One lane runner runs its lanes side by side (issue 28), on the real RabbitMQ.

A worker with one runner (``--lanes 1``) holds every lane queue; each lane's
jobs still run one at a time in order, but the lanes run at the same time
(``deferred/lane_pool.py``), so a slow plugin no longer makes the process as
slow as one call at a time. The test ends with the ledger check
(:meth:`Cloud.check_ledger`): every job once, each instance's create before
its delete, and no two runs of one lane open at once.
"""

from __future__ import annotations

from cloud import Cloud


def _open_runs(cloud: Cloud) -> dict[tuple[str, str], str]:
    """The runs (job id, pid) started and not done, with their instance."""
    runs: dict[tuple[str, str], str] = {}
    for line in cloud.lines():
        if line[0] == "start":
            runs[(line[3], line[5])] = line[2]
        elif line[0] == "done":
            runs.pop((line[3], line[5]), None)
    return runs


def test_one_runner_runs_its_lanes_side_by_side_and_each_lane_in_order(cloud: Cloud) -> None:
    for host in ("api-1", "compute-1"):
        cloud.relay(host)
    worker = cloud.worker(lanes=1)  # one runner, one connection: every lane is its
    cloud.settled()
    (cloud.gates / "block").touch()  # every run waits at the gate while it is there
    cloud.create("api-1", 12)
    cloud.delete("compute-1")  # each delete queued behind its create
    lane_of = cloud.lane_of()
    busy_lanes = len(set(lane_of.values()))
    assert busy_lanes >= 2
    cloud.wait_for(lambda: len(_open_runs(cloud)) == busy_lanes,
                   "a run open in every lane with jobs, at the same time", seconds=60)
    open_lanes = [lane_of[uuid] for uuid in _open_runs(cloud).values()]
    assert sorted(open_lanes) == sorted(set(open_lanes))  # one run per lane
    (cloud.gates / "block").unlink()
    cloud.all_done()
    repeats = cloud.check_ledger(duplicates_allowed=0)
    assert len(repeats) == 12 + 12
    assert {line[5] for line in cloud.lines() if line[0] == "done"} == {str(worker.pid)}
    open_of_lane: dict[int, set[str]] = {}
    for line in cloud.lines():  # never two runs of one lane at once, from first to last
        runs = open_of_lane.setdefault(lane_of[line[2]], set())
        if line[0] == "start":
            assert not runs, f"lane {lane_of[line[2]]}: {line[3]} started while {runs} ran"
            runs.add(line[3])
        elif line[0] == "done":
            runs.discard(line[3])
