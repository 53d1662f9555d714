"""Prerequisite checks: what the harness needs on this machine, and how to fix what is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

import requests

from stormcheck.local.engine import engine_answers
from stormcheck.local.images import debian_mirror, detect_mode
from stormcheck.settings import Settings
from stormcheck.tools import TOOLS, tool_path

__all__ = ["Check", "go_proxy", "run_checks"]

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Check:
    """One prerequisite: its status, what was found, and how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def go_proxy(settings: Settings) -> str | None:
    """The first Go module proxy in use: the setting, else ``go env GOPROXY``."""
    value = settings.go_proxy
    if value is None and shutil.which("go"):
        value = subprocess.run(
            ["go", "env", "GOPROXY"], capture_output=True, text=True, check=False
        ).stdout.strip()
    first = (value or "").split(",")[0].split("|")[0]
    return first if first.startswith("http") else None


def _reachable(name: str, url: str, fix: str, *, required: bool = True) -> Check:
    try:
        answer = requests.get(url, timeout=5)
    except requests.RequestException as exc:
        return Check(
            name,
            "fail" if required else "warn",
            f"{url} does not answer ({type(exc).__name__})",
            fix,
        )
    if answer.status_code >= 500:
        return Check(
            name, "fail" if required else "warn", f"{url} answered {answer.status_code}", fix
        )
    return Check(name, "ok", f"{url} answers ({answer.status_code})")


def _python() -> Check:
    version = sys.version.split()[0]
    if version.startswith("3.12."):
        return Check("python", "ok", version)
    return Check("python", "fail", version, "use the project venv: `make setup`")


def _docker() -> Check:
    version = engine_answers()
    if version:
        return Check("docker engine", "ok", f"Docker {version} answers")
    return Check(
        "docker engine",
        "fail",
        "no engine answers",
        "`make engine` (root: installs docker.io, starts dockerd)",
    )


def _command(name: str, fix: str) -> Check:
    path = shutil.which(name)
    return Check(name, "ok", path) if path else Check(name, "fail", "not on PATH", fix)


def run_checks(settings: Settings) -> list[Check]:
    """Every prerequisite check, in order, each with a fix for what fails."""
    checks: list[Callable[[], Check]] = [
        _python,
        _docker,
        lambda: _command("debootstrap", "apt-get install -y debootstrap"),
        lambda: _command("go", "install Go (the Go toolchain builds Toxiproxy)"),
        lambda: _reachable(
            "debian mirror",
            debian_mirror(settings.debian_mirror) + "/dists/bookworm/Release",
            "set STORMCHECK_DEBIAN_MIRROR to a reachable Debian mirror",
        ),
        lambda: _reachable(
            "pypi",
            settings.pypi_index + "/pip/",
            "set UV_INDEX_URL / PIP_INDEX_URL to a reachable index",
        ),
    ]
    proxy = go_proxy(settings)
    checks.append(
        (
            lambda: _reachable(
                "go module proxy",
                f"{proxy}/github.com/!shopify/toxiproxy/v2/@v/v{TOOLS['toxiproxy'].version}.info",
                "set GOPROXY (or STORMCHECK_GO_PROXY) to a reachable Go module proxy",
            )
        )
        if proxy
        else (lambda: Check("go module proxy", "fail", "GOPROXY names no proxy", "set GOPROXY"))
    )
    checks.append(
        lambda: _reachable(
            "maven central",
            settings.maven_repo + "/org/opensearch/opensearch/maven-metadata.xml",
            "set STORMCHECK_MAVEN_REPO to a reachable Maven repository",
        )
    )
    checks.append(lambda: _mode(settings))
    checks.extend(partial(_tool, settings, name) for name in TOOLS)
    checks.append(partial(_images, settings))
    if os.geteuid() != 0:
        checks.append(
            lambda: Check("root", "warn", "not root: cannot install packages or start dockerd")
        )
    return [check() for check in checks]


def _mode(settings: Settings) -> Check:
    mode = detect_mode(settings.image_mode, settings.container_registry)
    if mode == "offline":
        return Check(
            "image mode",
            "ok",
            f"offline (no answer from {settings.container_registry}): images are built from a debootstrap base",
        )
    return Check("image mode", "ok", f"registry ({settings.container_registry} answers)")


def _tool(settings: Settings, name: str) -> Check:
    version = TOOLS[name].version
    present = all(tool_path(name, b, settings.cache_dir) for b in TOOLS[name].binaries)
    if present:
        return Check(f"tool {name}", "ok", f"{version} cached")
    return Check(
        f"tool {name}", "warn", f"{version} not installed yet", f"stormcheck tools install {name}"
    )


def _images(settings: Settings) -> Check:
    """Whether every role's image in the current mode is present (needs an answering engine)."""
    from stormcheck.local.catalogue import read_catalogue
    from stormcheck.local.engine import connect
    from stormcheck.local.images import base_tag, plan_images
    from stormcheck.paths import catalogue_path, project_root

    fix = "stormcheck images build (or make images)"
    if engine_answers() is None:
        return Check("images", "warn", "unknown: no Docker engine answers", fix)
    catalogue = read_catalogue(catalogue_path(), project_root())
    mode = detect_mode(settings.image_mode, settings.container_registry)
    client = connect()
    try:
        tag = base_tag(catalogue.base) if mode == "offline" else catalogue.base.registry_image
        if not client.images.list(name=tag):
            return Check("images", "warn", f"base image {tag} not present yet ({mode} mode)", fix)
        base = (tag, str(client.images.get(tag).id))
        missing = [p.role.name for p in plan_images(client, catalogue, mode, base) if not p.present]
    finally:
        client.close()
    if missing:
        return Check("images", "warn", f"missing in {mode} mode: {', '.join(missing)}", fix)
    return Check("images", "ok", f"all {len(catalogue.roles)} roles present ({mode} mode)")
