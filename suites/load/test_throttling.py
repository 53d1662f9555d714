"""The CFS counters of a real container: a busy loop under a small quota is throttled."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from docker import DockerClient
from docker.models.containers import Container

from stormcheck.errors import PlatformError
from stormcheck.load.throttling import Throttling, read_throttling
from stormcheck.local.session import prepare_images
from stormcheck.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def busy(settings: Settings, docker_client: DockerClient) -> Iterator[Container]:
    _, built = prepare_images(settings, docker_client, roles=("redis",))
    container = docker_client.containers.run(
        built[0].ref,
        entrypoint=["sh", "-c", "while :; do :; done"],
        detach=True,
        nano_cpus=int(0.1e9),  # 10 ms of CPU in every 100 ms period: throttled 9 of 10
        labels={"stormcheck.managed": "true"},
        name=f"sc-throttling-test-{time.monotonic_ns()}",
    )
    try:
        yield container
    finally:
        container.remove(force=True)


def test_a_busy_container_under_a_small_quota_shows_throttled_periods_and_time(
    docker_client: DockerClient, busy: Container
) -> None:
    name = str(busy.name)
    before = read_throttling(docker_client, name)
    time.sleep(2.0)  # the container burns CPU meanwhile (each stats call takes ~1 s more)
    throttled = Throttling.between(before, read_throttling(docker_client, name))
    assert throttled.periods >= 10, throttled
    assert throttled.throttled_periods >= throttled.periods // 2, throttled
    # It may run 10 ms per 100 ms period, so it is held back ~90 ms of each; cgroup v1 sums the
    # throttled time of every CPU's run queue, hence the upper bound per core.
    assert throttled.throttled_s >= 0.5 * throttled.periods * 0.09, throttled
    assert throttled.throttled_s <= throttled.periods * 0.1 * (os.cpu_count() or 1), throttled


def test_an_unknown_container_is_reported_as_such(docker_client: DockerClient) -> None:
    with pytest.raises(PlatformError, match="docker stats sc-no-such-container failed"):
        read_throttling(docker_client, "sc-no-such-container")
