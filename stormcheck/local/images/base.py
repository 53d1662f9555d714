"""The base image every built role starts from, and how images are sourced (mode, mirror).

Mode ``registry`` uses official images where they exist; mode ``offline`` builds every role from a
Debian bookworm base made here with ``debootstrap`` and ``docker import`` (design §3).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker.errors
import requests
from docker import DockerClient

from stormcheck.errors import ImageBuildError
from stormcheck.local.catalogue import Catalogue, Mode
from stormcheck.local.images.hashing import base_tag

__all__ = ["MANAGED_LABEL", "debian_mirror", "detect_mode", "ensure_base", "image_id", "run_step"]


MANAGED_LABEL = "stormcheck.managed"


def detect_mode(requested: str, registry_url: str, *, timeout_s: float = 3.0) -> Mode:
    """``registry`` or ``offline``: as requested, or (``auto``) whether the registry answers at all."""
    if requested in ("registry", "offline"):
        return "registry" if requested == "registry" else "offline"
    try:
        requests.get(f"{registry_url}/v2/", timeout=timeout_s)
    except requests.RequestException:
        return "offline"
    return "registry"


def debian_mirror(configured: str | None, sources_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror to debootstrap from: the configured one, else the one apt already uses."""
    if configured:
        return configured
    candidates = [sources_dir / "sources.list", *sorted((sources_dir / "sources.list.d").glob("*"))]
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for match in re.finditer(r"(?m)^(?:deb\s+(?:\[[^]]*\]\s+)?|URIs:\s*)(\S+)", text):
            url = match.group(1).rstrip("/")
            if url.endswith("/debian"):
                return url
    return "http://deb.debian.org/debian"


def image_id(client: DockerClient, ref: str) -> str | None:
    try:
        return str(client.images.get(ref).id)
    except docker.errors.ImageNotFound:
        return None


def ensure_base(
    client: DockerClient, catalogue: Catalogue, mode: Mode, *, mirror: str, work_dir: Path
) -> tuple[str, str]:
    """Make sure the base image exists; return its reference and id.

    Offline: ``debootstrap`` the recipe's suite into ``work_dir`` and ``docker import`` it, once.
    Registry: pull the pinned ``registry_image``.
    """
    recipe = catalogue.base
    if mode == "registry":
        ref = recipe.registry_image
        if image_id(client, ref) is None:
            try:
                client.images.pull(ref)
            except docker.errors.APIError as exc:
                raise ImageBuildError(f"cannot pull base image {ref}: {exc}") from exc
        return ref, str(image_id(client, ref))
    ref = base_tag(recipe)
    existing = image_id(client, ref)
    if existing is not None:
        return ref, existing
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("the offline base needs debootstrap: apt-get install debootstrap")
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="base-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run_step(
            [
                "debootstrap",
                f"--variant={recipe.variant}",
                f"--components={','.join(recipe.components)}",
                recipe.suite,
                str(rootfs),
                mirror,
            ],
            what=f"debootstrap {recipe.suite} from {mirror}",
        )
        suites = (recipe.suite, f"{recipe.suite}-updates")
        sources = [f"deb {mirror} {s} {' '.join(recipe.components)}" for s in suites]
        security = mirror.rsplit("/", 1)[0] + "/debian-security"
        sources.append(f"deb {security} {recipe.suite}-security {' '.join(recipe.components)}")
        (rootfs / "etc/apt/sources.list").write_text("\n".join(sources) + "\n", encoding="utf-8")
        for leftover in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            leftover.unlink()
        shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
        (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True)
        tarball = Path(tmp) / "rootfs.tar"
        run_step(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], what="pack the base rootfs")
        repository, tag = ref.split(":")
        try:
            client.api.import_image_from_file(
                str(tarball),
                repository=repository,
                tag=tag,
                changes=[
                    f"LABEL {MANAGED_LABEL}=true stormcheck.role=base",
                    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    'CMD ["bash"]',
                ],
            )
        except docker.errors.APIError as exc:
            raise ImageBuildError(f"docker import of the base failed: {exc}") from exc
    return ref, str(image_id(client, ref))


def run_step(argv: list[str], *, what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise ImageBuildError(f"{what} failed (exit {result.returncode}):\n" + "\n".join(tail))
