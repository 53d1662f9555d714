"""The Docker engine: find one that answers, or install and start one (Debian, as root).

An engine that already answers is never touched. When none answers and ``DOCKER_HOST`` points
elsewhere, nothing is started either: that engine is the user's to fix.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker import DockerClient

from stormcheck.errors import DockerUnavailableError
from stormcheck.waiting import NotYet, poll_until

__all__ = ["EngineStatus", "connect", "engine_answers", "ensure_engine"]

_LOCAL_SOCKETS = ("", "unix:///var/run/docker.sock", "unix:///run/docker.sock")


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """What :func:`ensure_engine` found or did."""

    version: str
    installed: bool
    started: bool
    log_path: Path | None = None


def connect(timeout_s: float = 60.0) -> DockerClient:
    """A client for the engine at ``DOCKER_HOST`` (or the local socket); raises when none answers."""
    try:
        client = docker.from_env(timeout=int(timeout_s))
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerUnavailableError(
            f"no Docker engine answers at {os.environ.get('DOCKER_HOST') or 'unix:///var/run/docker.sock'}"
            f" ({exc}); run `stormcheck doctor --fix` or `make engine`"
        ) from exc
    return client


def engine_answers() -> str | None:
    """The engine's version if one answers, else None."""
    try:
        client = docker.from_env(timeout=5)
        try:
            return str(client.version().get("Version", "unknown"))
        finally:
            client.close()
    except docker.errors.DockerException:
        return None


def _apt_install(packages: list[str]) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for attempt in ("install", "update-then-install"):
        if attempt == "update-then-install":
            subprocess.run(["apt-get", "update"], check=False, env=env, capture_output=True)
        result = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", *packages],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0:
            return
    raise DockerUnavailableError(
        f"apt-get install {' '.join(packages)} failed: {result.stderr.strip()[-500:]}"
    )


def ensure_engine(*, log_path: Path, wait_s: float = 60.0) -> EngineStatus:
    """Return the answering engine's status, installing ``docker.io`` and starting ``dockerd`` if needed.

    Raises :class:`DockerUnavailableError` when no engine answers and none may or can be started
    here (not root, not Debian, ``DOCKER_HOST`` pointing at another engine, or a daemon that
    does not come up within ``wait_s``; its log is named).
    """
    version = engine_answers()
    if version is not None:
        return EngineStatus(version=version, installed=False, started=False)
    if os.environ.get("DOCKER_HOST", "") not in _LOCAL_SOCKETS:
        raise DockerUnavailableError(
            f"the Docker engine at DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer;"
            " stormcheck only starts a local engine"
        )
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        raise DockerUnavailableError(
            "no Docker engine answers, and one can only be installed and started as root on Debian;"
            " start Docker yourself or run `sudo make engine`"
        )
    installed = False
    if shutil.which("dockerd") is None:
        _apt_install(["docker.io", "iptables"])
        installed = True
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        # A new session: the daemon must outlive the make target or test run that started it.
        subprocess.Popen(
            ["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
        )

    def answered() -> str | NotYet:
        version = engine_answers()
        return NotYet("no answer") if version is None else version

    def no_answer(_reason: str) -> DockerUnavailableError:
        tail = log_path.read_text(errors="replace").splitlines()[-15:]
        return DockerUnavailableError(
            f"dockerd did not answer within {wait_s:.0f} s; last lines of {log_path}:\n"
            + "\n".join(tail)
        )

    version = poll_until(answered, timeout_s=wait_s, interval_s=0.25, on_timeout=no_answer)
    return EngineStatus(version=version, installed=installed, started=True, log_path=log_path)
