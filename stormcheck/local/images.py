"""Building the catalogue's images, tagged by a hash of everything that goes into them.

A role's tag is ``stormcheck/<role>:<hash>``, where the hash covers the recipe folder (every
file's path, executable bit and content), the Dockerfile name, the mode, the base image's id and
— through the hash-pinned lock in the folder — the wheels, and through the pom in the folder
(exact versions, no ranges) the Maven artefacts. So an image is rebuilt exactly when
something that goes into it changed, and a second ``images build`` rebuilds nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import docker.errors
import requests
from docker import DockerClient

from stormcheck.errors import ImageBuildError
from stormcheck.local.catalogue import BaseRecipe, Catalogue, Mode, Role
from stormcheck.tools import TOOLS, install_tool

__all__ = [
    "MANAGED_LABEL",
    "BuildResult",
    "ImagePlan",
    "build_images",
    "context_files",
    "debian_mirror",
    "detect_mode",
    "ensure_base",
    "find_python",
    "maven_jars",
    "plan_images",
    "remove_project_images",
    "role_hash",
    "role_venv",
    "wheelhouse",
]

log = logging.getLogger(__name__)

MANAGED_LABEL = "stormcheck.managed"
HASH_VERSION = "stormcheck-image-v1"
# Never part of a recipe: staged wheels, tools and jars, caches and editor droppings.
_IGNORED_DIRS = {
    "wheels",
    "tools",
    "jars",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".venv",
}
_IGNORED_SUFFIXES = (".pyc", ".pyo", "~", ".swp")


def context_files(context: Path) -> list[Path]:
    """The files of a recipe folder that go into its image, sorted, relative to ``context``."""
    found: list[Path] = []
    for directory, dirnames, filenames in os.walk(context):
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_DIRS)
        for name in filenames:
            if not name.endswith(_IGNORED_SUFFIXES):
                found.append((Path(directory) / name).relative_to(context))
    return sorted(found)


def role_hash(role: Role, mode: Mode, base_id: str) -> str:
    """The content hash that names ``role``'s image in ``mode`` on the base ``base_id``."""
    digest = hashlib.sha256()
    for part in (
        HASH_VERSION,
        role.name,
        mode,
        role.dockerfile,
        base_id,
        role.python_version or "",
        *(f"tool:{name}={TOOLS[name].version}" for name in role.tools),
        # only for roles that have one, so the other roles keep their tags
        *((f"maven:{role.maven_pom}",) if role.maven_pom else ()),
    ):
        digest.update(part.encode() + b"\0")
    for rel in context_files(role.context):
        path = role.context / rel
        executable = "x" if os.access(path, os.X_OK) else "-"
        digest.update(f"{rel.as_posix()}\0{executable}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def base_tag(recipe: BaseRecipe) -> str:
    """The offline base's tag: a hash of its recipe (suite, variant, components)."""
    digest = hashlib.sha256(
        f"{HASH_VERSION}\0{recipe.suite}\0{recipe.variant}\0{','.join(recipe.components)}".encode()
    )
    return f"stormcheck/base:{recipe.suite}-{digest.hexdigest()[:12]}"


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


def _image_id(client: DockerClient, ref: str) -> str | None:
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
        if _image_id(client, ref) is None:
            try:
                client.images.pull(ref)
            except docker.errors.APIError as exc:
                raise ImageBuildError(f"cannot pull base image {ref}: {exc}") from exc
        return ref, str(_image_id(client, ref))
    ref = base_tag(recipe)
    existing = _image_id(client, ref)
    if existing is not None:
        return ref, existing
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("the offline base needs debootstrap: apt-get install debootstrap")
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="base-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        _run(
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
        _run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], what="pack the base rootfs")
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
    return ref, str(_image_id(client, ref))


def _run(argv: list[str], *, what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise ImageBuildError(f"{what} failed (exit {result.returncode}):\n" + "\n".join(tail))


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
                present=_image_id(client, ref) is not None,
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
            with _staged_context(plan.role, cache_dir) as context:
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


def wheelhouse(role: Role, cache_dir: Path) -> Path:
    """The folder of ``role``'s locked wheels for its Python version, downloaded once per lock."""
    if role.wheels_lock is None:
        raise ImageBuildError(f"{role.name}: the role has no wheels_lock")
    return _download_wheels(role, cache_dir)


def find_python(version: str) -> str:
    """An interpreter of ``version`` on this machine (PATH, pyenv, /usr/bin)."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(
        str(p) for p in (Path.home() / ".pyenv/versions").glob(f"{version}.*/bin/python{version}")
    )
    candidates.append(f"/usr/bin/python{version}")
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            probe = subprocess.run(
                [candidate, "-c", "import ssl, venv, ensurepip"], capture_output=True, check=False
            )
            if probe.returncode == 0:
                return candidate
    raise ImageBuildError(
        f"no Python {version} with venv and ensurepip on this machine (apt-get install python3-venv)"
    )


def role_venv(role: Role, cache_dir: Path) -> Path:
    """A virtualenv on the host with exactly ``role``'s locked wheels (the image's environment).

    Built once per lock under ``<cache_dir>/venvs/``; returns its Python interpreter. Tests use it to
    run a Python role as a host process, with the same dependencies its image has.
    """
    wheels = wheelhouse(role, cache_dir)
    assert role.wheels_lock is not None
    folder = cache_dir / "venvs" / wheels.name
    python = folder / "bin" / "python"
    if (folder / ".complete").exists():
        return python
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [find_python(role.python_version or "3.11"), "-m", "venv", str(folder)],
        what=f"{role.name}: venv",
    )
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-index",
            "--find-links",
            str(wheels),
            "--require-hashes",
            "-r",
            str(role.context / role.wheels_lock),
        ],
        what=f"{role.name}: install the locked wheels into {folder}",
    )
    (folder / ".complete").touch()
    return python


def _download_wheels(role: Role, cache_dir: Path) -> Path:
    assert role.wheels_lock is not None
    lock = role.context / role.wheels_lock
    lock_hash = hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
    wheelhouse = cache_dir / "wheelhouse" / f"{role.name}-{lock_hash}"
    if (wheelhouse / ".complete").exists():
        return wheelhouse
    shutil.rmtree(wheelhouse, ignore_errors=True)
    wheelhouse.mkdir(parents=True)
    version = role.python_version or "3.11"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--require-hashes",
            "--only-binary=:all:",
            "--implementation=cp",
            f"--python-version={version}",
            "--platform=manylinux2014_x86_64",
            "--platform=manylinux_2_17_x86_64",
            "--platform=manylinux_2_28_x86_64",
            "--platform=any",
            "-r",
            str(lock),
            "-d",
            str(wheelhouse),
        ],
        what=f"{role.name}: download the wheels of {lock}",
    )
    (wheelhouse / ".complete").touch()
    return wheelhouse


def maven_jars(role: Role, cache_dir: Path) -> Path:
    """The folder of ``role``'s Maven artefacts: its pom's runtime dependencies, fetched once per pom.

    Runs ``mvn dependency:copy-dependencies`` on the host (containers cannot reach Maven Central
    through the egress proxy); Maven's own settings (mirror, ``-Dmaven.repo.local`` in
    ``MAVEN_OPTS``) apply. Raises :class:`ImageBuildError` without Maven or when a download fails.
    """
    if role.maven_pom is None:
        raise ImageBuildError(f"{role.name}: the role has no maven_pom")
    pom = role.context / role.maven_pom
    pom_hash = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    folder = cache_dir / "maven" / f"{role.name}-{pom_hash}"
    if (folder / ".complete").exists():
        return folder
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ImageBuildError(f"{role.name}: staging {pom} needs Maven: apt-get install maven")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={folder}",
        ],
        what=f"{role.name}: fetch the Maven dependencies of {pom}",
    )
    if not any(folder.glob("*.jar")):
        raise ImageBuildError(f"{role.name}: {pom} staged no jars into {folder}")
    (folder / ".complete").touch()
    return folder


class _Staging:
    """The build context: a copy of exactly the hashed files, plus staged ``wheels/``, ``tools/``
    and ``jars/``."""

    def __init__(self, role: Role, cache_dir: Path) -> None:
        self.role = role
        self.cache_dir = cache_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        (self.cache_dir / "build").mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(
            dir=self.cache_dir / "build", prefix=f"{self.role.name}-"
        )
        staged = Path(self._tmp.name)
        for rel in context_files(self.role.context):
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.role.context / rel, staged / rel)
        if self.role.wheels_lock is not None:
            wheelhouse = _download_wheels(self.role, self.cache_dir)
            shutil.copytree(
                wheelhouse, staged / "wheels", ignore=shutil.ignore_patterns(".complete")
            )
        for tool in self.role.tools:
            bin_dir = install_tool(tool, self.cache_dir)
            shutil.copytree(bin_dir, staged / "tools", dirs_exist_ok=True)
        if self.role.maven_pom is not None:
            jars = maven_jars(self.role, self.cache_dir)
            shutil.copytree(jars, staged / "jars", ignore=shutil.ignore_patterns(".complete"))
        return staged

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _staged_context(role: Role, cache_dir: Path) -> _Staging:
    return _Staging(role, cache_dir)


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
