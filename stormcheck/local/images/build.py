"""Planning and building the catalogue's images: present, pulled, or built from a staged context."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import docker.errors
from docker import DockerClient

from stormcheck.errors import ImageBuildError
from stormcheck.local.catalogue import Catalogue, Mode, Role
from stormcheck.local.images.base import MANAGED_LABEL, image_id
from stormcheck.local.images.hashing import role_hash
from stormcheck.local.images.staging import staged_context

__all__ = ["BuildResult", "ImagePlan", "build_images", "plan_images", "remove_project_images"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImagePlan:
    """What image a role runs in a mode, and whether it exists yet."""

    role: Role
    mode: Mode
    ref: str
    source: Literal["official", "build"]
    present: bool
    base_ref: str


def plan_images(
    client: DockerClient, catalogue: Catalogue, mode: Mode, base: tuple[str, str]
) -> list[ImagePlan]:
    """The image of every role in ``mode`` given the base ``(ref, id)``: present or to build."""
    base_ref, base_id = base
    plans = []
    for role in catalogue.roles.values():
        if mode == "registry" and role.official:
            ref, source = role.official, "official"
            role_base = base_ref
        else:
            role_base = (
                role.registry_base if (mode == "registry" and role.registry_base) else base_ref
            )
            role_base_id = base_id if role_base == base_ref else role_base
            ref = f"stormcheck/{role.name}:{role_hash(role, mode, role_base_id)}"
            source = "build"
        plans.append(
            ImagePlan(
                role=role,
                mode=mode,
                ref=ref,
                source="official" if source == "official" else "build",
                present=image_id(client, ref) is not None,
                base_ref=role_base,
            )
        )
    return plans


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What happened to one role's image."""

    role: str
    ref: str
    action: Literal["cached", "built", "pulled"]
    seconds: float


def build_images(
    client: DockerClient,
    plans: list[ImagePlan],
    *,
    cache_dir: Path,
    progress: Callable[[str], None] = lambda _line: None,
) -> list[BuildResult]:
    """Build (or pull) every planned image that is not present; cached ones are left alone."""
    results = []
    for plan in plans:
        started = time.monotonic()
        if plan.present:
            results.append(BuildResult(plan.role.name, plan.ref, "cached", 0.0))
            continue
        progress(
            f"{plan.role.name}: {'pulling' if plan.source == 'official' else 'building'} {plan.ref}"
        )
        if plan.source == "official":
            try:
                client.images.pull(plan.ref)
            except docker.errors.APIError as exc:
                raise ImageBuildError(f"{plan.role.name}: cannot pull {plan.ref}: {exc}") from exc
            action: Literal["cached", "built", "pulled"] = "pulled"
        else:
            with staged_context(plan.role, cache_dir) as context:
                _docker_build(client, plan, context, progress)
            action = "built"
        results.append(BuildResult(plan.role.name, plan.ref, action, time.monotonic() - started))
    return results


def _docker_build(
    client: DockerClient, plan: ImagePlan, context: Path, progress: Callable[[str], None]
) -> None:
    tail: list[str] = []
    try:
        stream: Iterator[dict[str, Any]] = client.api.build(
            path=str(context),
            dockerfile=plan.role.dockerfile,
            tag=plan.ref,
            buildargs={"BASE": plan.base_ref},
            labels={
                MANAGED_LABEL: "true",
                "stormcheck.role": plan.role.name,
                "stormcheck.context-hash": plan.ref.rsplit(":", 1)[1],
            },
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "error" in chunk:
                tail.append(str(chunk["error"]).strip())
                raise ImageBuildError(
                    f"{plan.role.name}: docker build of {plan.role.context} failed:\n"
                    + "\n".join(tail[-20:])
                )
            line = str(chunk.get("stream", "")).rstrip()
            if line:
                tail.append(line)
                if line.startswith("Step "):
                    progress(f"{plan.role.name}: {line}")
    except docker.errors.APIError as exc:
        raise ImageBuildError(f"{plan.role.name}: docker build failed: {exc}") from exc


def remove_project_images(client: DockerClient) -> list[str]:
    """Remove every image the project built or imported (label ``stormcheck.managed``)."""
    removed = []
    for image in client.images.list(filters={"label": f"{MANAGED_LABEL}=true"}):
        try:
            client.images.remove(image.id, force=True)
            removed.append(image.tags[0] if image.tags else image.short_id)
        except docker.errors.ImageNotFound:
            continue
    return removed
