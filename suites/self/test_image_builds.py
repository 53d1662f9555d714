"""Real builds: a second build rebuilds nothing; one changed byte rebuilds only that role."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker import DockerClient

from stormcheck.local.catalogue import Catalogue, read_catalogue
from stormcheck.local.images import (
    build_images,
    debian_mirror,
    detect_mode,
    ensure_base,
    plan_images,
)
from stormcheck.paths import catalogue_path, project_root
from stormcheck.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def built_refs(docker_client: DockerClient) -> Iterator[list[str]]:
    """Images a test builds; removed afterwards."""
    refs: list[str] = []
    yield refs
    for ref in refs:
        docker_client.images.remove(ref, force=True)


def _base(settings: Settings, client: DockerClient, catalogue: Catalogue) -> tuple[str, str]:
    mode = detect_mode(settings.image_mode, settings.container_registry)
    return ensure_base(
        client,
        catalogue,
        mode,
        mirror=debian_mirror(settings.debian_mirror),
        work_dir=settings.cache_dir / "build",
    )


def _tiny_catalogue(root: Path) -> Catalogue:
    for name in ("alpha", "beta"):
        context = root / name
        context.mkdir(parents=True)
        (context / "Dockerfile").write_text(
            "ARG BASE\nFROM ${BASE}\nCOPY message /message\n", encoding="utf-8"
        )
        (context / "message").write_text(f"{name}\n", encoding="utf-8")
    real = catalogue_path().read_text(encoding="utf-8")
    base_table = real[real.index("[base]") : real.index("[roles.")]
    path = root / "catalogue.toml"
    path.write_text(
        base_table + '[roles.alpha]\ncontext = "alpha"\n[roles.beta]\ncontext = "beta"\n',
        encoding="utf-8",
    )
    return read_catalogue(path, root)


def test_second_build_rebuilds_nothing_and_one_byte_rebuilds_one_role(
    settings: Settings, docker_client: DockerClient, tmp_path: Path, built_refs: list[str]
) -> None:
    catalogue = _tiny_catalogue(tmp_path)
    mode = detect_mode(settings.image_mode, settings.container_registry)
    base = _base(settings, docker_client, catalogue)

    first = build_images(
        docker_client,
        plan_images(docker_client, catalogue, mode, base),
        cache_dir=settings.cache_dir,
    )
    built_refs.extend(r.ref for r in first)
    assert [r.action for r in first] == ["built", "built"], first

    second = build_images(
        docker_client,
        plan_images(docker_client, catalogue, mode, base),
        cache_dir=settings.cache_dir,
    )
    assert [r.action for r in second] == ["cached", "cached"], second

    (tmp_path / "alpha" / "message").write_text("alphA\n", encoding="utf-8")
    third = build_images(
        docker_client,
        plan_images(docker_client, catalogue, mode, base),
        cache_dir=settings.cache_dir,
    )
    built_refs.extend(r.ref for r in third if r.action == "built")
    assert {r.role: r.action for r in third} == {"alpha": "built", "beta": "cached"}
    assert third[0].ref != first[0].ref and third[1].ref == first[1].ref
    output = docker_client.containers.run(third[0].ref, ["cat", "/message"], remove=True)
    assert output == b"alphA\n"


def test_the_real_catalogue_is_fully_built_and_a_copy_of_it_plans_no_build(
    settings: Settings, docker_client: DockerClient, tmp_path: Path
) -> None:
    catalogue = read_catalogue(catalogue_path(), project_root())
    mode = detect_mode(settings.image_mode, settings.container_registry)
    base = _base(settings, docker_client, catalogue)
    missing = [
        p.role.name for p in plan_images(docker_client, catalogue, mode, base) if not p.present
    ]
    assert not missing, f"`make images` should have built {missing}"
    shutil.copytree(project_root() / "platform", tmp_path / "platform")
    copy = read_catalogue(tmp_path / "platform/local/images/catalogue.toml", tmp_path)
    assert all(p.present for p in plan_images(docker_client, copy, mode, base))


def test_a_changed_byte_or_pin_in_the_shop_plans_only_the_shop(
    settings: Settings, docker_client: DockerClient, tmp_path: Path, built_refs: list[str]
) -> None:
    shutil.copytree(project_root() / "platform", tmp_path / "platform")
    catalogue = read_catalogue(tmp_path / "platform/local/images/catalogue.toml", tmp_path)
    mode = detect_mode(settings.image_mode, settings.container_registry)
    base = _base(settings, docker_client, catalogue)
    before = {p.role.name: p.ref for p in plan_images(docker_client, catalogue, mode, base)}

    lock = tmp_path / "platform/shop/requirements.lock"
    text = lock.read_text(encoding="utf-8")
    pinned = next(line for line in text.splitlines() if "==" in line and not line.startswith("#"))
    name, version = pinned.split(" ")[0].split("==")
    lock.write_text(
        text.replace(pinned.split(" ")[0], f"{name}=={version}.post999", 1), encoding="utf-8"
    )
    after_pin = {p.role.name: p.ref for p in plan_images(docker_client, catalogue, mode, base)}
    assert {r for r in before if before[r] != after_pin[r]} == {"shop"}
    lock.write_text(text, encoding="utf-8")

    source = next((tmp_path / "platform/shop/src").rglob("*.py"))
    source.write_bytes(source.read_bytes() + b"\n")
    plans = plan_images(docker_client, catalogue, mode, base)
    assert {p.role.name for p in plans if p.ref != before[p.role.name]} == {"shop"}
    results = build_images(docker_client, plans, cache_dir=settings.cache_dir)
    built_refs.extend(r.ref for r in results if r.action == "built")
    assert {r.role for r in results if r.action == "built"} == {"shop"}, results
