"""What a role's build context gets beside its recipe: wheels, a role's venv, Maven jars, tools.

Everything is downloaded on the host (pip inside a container cannot verify the egress proxy's
TLS) and cached by the hash of its lock or pom; the staged context is a temporary copy.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from stormcheck.errors import ImageBuildError
from stormcheck.local.catalogue import Role
from stormcheck.local.images.base import run_step
from stormcheck.local.images.hashing import context_files
from stormcheck.tools import install_tool

__all__ = ["find_python", "maven_jars", "role_venv", "staged_context", "wheelhouse"]


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
    run_step(
        [find_python(role.python_version or "3.11"), "-m", "venv", str(folder)],
        what=f"{role.name}: venv",
    )
    run_step(
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
    run_step(
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
    run_step(
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


def staged_context(role: Role, cache_dir: Path) -> _Staging:
    return _Staging(role, cache_dir)
