"""The start order of a run: ``needs`` lets a component start early and get ready alongside others."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest
from docker import DockerClient

from stormcheck.errors import NotReadyError, PlatformError
from stormcheck.local.component import Component
from stormcheck.local.platform import start_platform, stop_run
from stormcheck.local.session import prepare_images
from stormcheck.local.stacks import components_for
from stormcheck.runs import Lease, Manifest, RunFolder, create_run
from stormcheck.settings import Settings
from stormcheck.timeline import EventKind

pytestmark = pytest.mark.integration


def _run(tmp_path: Path) -> tuple[RunFolder, Manifest]:
    return create_run(tmp_path, profile="local", stack="minimal", lease=Lease.for_current_process())


def _left(client: DockerClient, run_id: str) -> list[str]:
    flt = {"label": f"stormcheck.run={run_id}"}
    return [str(c.name) for c in client.containers.list(all=True, filters=flt)] + [
        str(n.name) for n in client.networks.list(filters=flt)
    ]


@pytest.fixture(scope="module")
def redis_image(settings: Settings, docker_client: DockerClient) -> str:
    _, built = prepare_images(settings, docker_client, roles=("redis",))
    return built[0].ref


def test_a_component_that_needs_nothing_gets_ready_while_an_earlier_one_waits_for_it(
    tmp_path: Path, docker_client: DockerClient, redis_image: str
) -> None:
    (redis,) = components_for("minimal", only=("redis",))
    early_ready = threading.Event()

    def early_check(endpoints: Mapping[str, str]) -> None:
        redis.ready(endpoints)
        early_ready.set()

    def waits_for_early(endpoints: Mapping[str, str]) -> None:
        redis.ready(endpoints)
        if not early_ready.is_set():
            raise NotReadyError("early is not ready yet")

    # Strict list order would start `early` only after `first` is ready, which never happens.
    first = dataclasses.replace(redis, name="first", ready=waits_for_early, volumes={})
    early = dataclasses.replace(redis, name="early", ready=early_check, volumes={}, needs=())
    folder, manifest = _run(tmp_path)
    try:
        start_platform(
            docker_client,
            folder,
            manifest,
            [first, early],
            {"redis": redis_image},
            ready_timeout_s=30,
        )
        assert manifest.state == "up" and set(manifest.components) == {"first", "early"}
        ready = [e.name for e in folder.timeline.events(EventKind.COMPONENT_READY)]
        assert ready == ["early", "first"]
    finally:
        stop_run(docker_client, manifest.run_id)
    assert _left(docker_client, manifest.run_id) == []


def _component(name: str, needs: tuple[str, ...] | None) -> Component:
    (redis,) = components_for("minimal", only=("redis",))
    return dataclasses.replace(redis, name=name, volumes={}, needs=needs)


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        ([_component("a", ("nobody",))], "a needs nobody, which this run does not start"),
        ([_component("a", ("a",))], "a needs a, which this run does not start"),
        ([_component("a", None), _component("a", None)], "components listed twice: a"),
        (
            [_component("a", ("b",)), _component("b", ("a",))],
            "components wait for each other and can never start: a (needs b), b (needs a)",
        ),
    ],
)
def test_needs_that_cannot_be_met_fail_before_anything_is_left_behind(
    tmp_path: Path,
    docker_client: DockerClient,
    redis_image: str,
    components: list[Component],
    expected: str,
) -> None:
    folder, manifest = _run(tmp_path)
    with pytest.raises(PlatformError, match=re.escape(expected)):
        start_platform(
            docker_client, folder, manifest, components, {"redis": redis_image}, ready_timeout_s=5
        )
    assert folder.read_manifest().state == "failed"
    assert _left(docker_client, manifest.run_id) == []
