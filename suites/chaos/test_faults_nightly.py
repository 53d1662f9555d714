"""The slower fault actions on the shared full stack (nightly tier): a whole zone lost, a full
database disk, the log store stopped. Each applied, seen from outside, rolled back, nothing left."""

from __future__ import annotations

import os

import psycopg
import pytest
import requests

from stormcheck.chaos.local import actions
from stormcheck.testing import FaultBench

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["kill", "disconnect"])
def test_zone_b_lost_and_back(fault_bench: FaultBench, mode: str) -> None:
    done = actions.zone_down("b", mode=mode, configuration=fault_bench.configuration)
    assert sorted(done["targets"]) == ["etcd-2", "pg-2", "redis-2", "sentinel-2", "shop-2"]
    for member in done["targets"]:
        container = fault_bench.handle.container(member)
        if mode == "kill":
            assert container.attrs["State"]["Status"] == "exited", member
        else:
            assert not container.attrs["NetworkSettings"]["Networks"], member
    api = fault_bench.handle.manifest().endpoint("ingress", "api")
    assert requests.get(api + "/health", timeout=5).status_code == 200  # zones a and c serve
    actions.undo_zone_down(configuration=fault_bench.configuration)
    # compared once settled, as an experiment's snapshot is: the undo waits for each member to
    # start, and Patroni names the rejoined pg-2 replica, then sync standby, on its next loops
    assert fault_bench.settled_diff() == []


def test_a_full_database_disk_fails_writes_with_enospc_not_the_hosts_disk(
    fault_bench: FaultBench,
) -> None:
    manifest = fault_bench.handle.manifest()
    leader = next(
        n
        for n in ("pg-1", "pg-2")
        if requests.get(manifest.endpoint(n, "patroni") + "/primary", timeout=5).status_code == 200
    )
    dsn = manifest.endpoint(leader, "postgres")
    host_free = os.statvfs("/").f_bavail * os.statvfs("/").f_frsize
    with psycopg.connect(dsn) as conn:
        conn.execute("create table if not exists stormcheck_fill (x text)")
        conn.commit()
        actions.fill_disk(leader, configuration=fault_bench.configuration)
        with pytest.raises(psycopg.Error, match="No space left on device"):
            conn.execute(
                "insert into stormcheck_fill select repeat('x', 1000) from generate_series(1, 20000)"
            )
    assert abs(os.statvfs("/").f_bavail * os.statvfs("/").f_frsize - host_free) < 10 * 2**20
    actions.undo_fill_disk(configuration=fault_bench.configuration)
    with psycopg.connect(dsn) as conn:
        conn.execute("drop table if exists stormcheck_fill")
    assert fault_bench.diff() == []


def test_the_log_store_stopped_and_started(fault_bench: FaultBench) -> None:
    actions.stop("opensearch", configuration=fault_bench.configuration)
    assert fault_bench.handle.container("opensearch").attrs["State"]["Status"] == "exited"
    actions.undo_stop(configuration=fault_bench.configuration)
    url = fault_bench.handle.manifest().endpoint("opensearch")
    assert requests.get(url + "/_cluster/health", timeout=10).status_code == 200
    assert fault_bench.diff() == []
