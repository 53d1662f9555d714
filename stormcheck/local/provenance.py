"""A local run's provenance: what it was made of, enough to replay it.

Collected once the run is up and written into its run file (``provenance``, see
:class:`stormcheck.runs.Provenance`): the project's git commit and whether the work tree was
dirty, the settings with secrets redacted, the image id every role ran, the version each
component's software reports (asked inside its container), the harness's own versions, the
host's CPU and the load generator's CPU budget. Whatever cannot be asked is recorded as
``unknown: <why>``, never left out silently.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform as host_platform
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from docker import DockerClient
from docker.errors import APIError, NotFound

from stormcheck.load.cpu import BUSY_SHARE, CpuBudget
from stormcheck.paths import project_root
from stormcheck.redaction import split_password
from stormcheck.runs import ComponentRecord, Manifest, Provenance, RunFolder
from stormcheck.settings import Settings, describe_settings

__all__ = [
    "HARNESS_PACKAGES",
    "VERSION_COMMANDS",
    "collect_provenance",
    "git_state",
    "host_cpu",
    "record_provenance",
    "redacted_settings",
]

VERSION_COMMANDS: dict[str, tuple[str, ...]] = {
    "postgres": ("postgres", "--version"),
    "patroni": ("patroni", "--version"),
    "etcd": ("etcd", "--version"),
    "redis": ("redis-server", "--version"),
    "redis-node": ("redis-server", "--version"),
    "sentinel": ("redis-server", "--version"),
    "ingress": ("haproxy", "-v"),
    "dbproxy": ("haproxy", "-v"),
    "toxiproxy": ("toxiproxy-server", "--version"),
    "prometheus": ("/bin/prometheus", "--version"),
    "alertmanager": ("/bin/alertmanager", "--version"),
    "postgres-exporter": ("/bin/postgres_exporter", "--version"),
    "redis-exporter": ("/redis_exporter", "--version"),
    "shipper": ("rsyslogd", "-v"),
    "shop": ("python", "--version"),  # the shop's own code is pinned by its image id
}
"""How each role's software says its version, asked inside its container (OpenSearch: its API)."""

HARNESS_PACKAGES = ("stormcheck", "chaostoolkit-lib", "locust", "docker", "httpx")
_SECRET_WORDS = ("password", "secret", "token", "key")
_MASK = "***"


def git_state(root: Path | None = None) -> tuple[str | None, bool | None]:
    """The commit checked out at ``root`` (default: the project) and whether tracked files
    differ from it; ``(None, None)`` outside a git work tree."""
    where = str(root or project_root())
    try:
        commit = subprocess.run(
            ["git", "-C", where, "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())


def redacted_settings(settings: Settings) -> dict[str, str]:
    """The settings as strings, with passwords in URLs and secret-named values masked."""
    redacted = {}
    for key, value in describe_settings(settings).items():
        if any(word in key for word in _SECRET_WORDS) and value:
            redacted[key] = _MASK
            continue
        redacted[key] = split_password(value)[0] if "://" in value else value
    return redacted


def host_cpu() -> dict[str, Any]:
    """The host's CPU: model, cores (online and usable here), load averages, kernel."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load1, load5, load15 = os.getloadavg()
    return {
        "model": model,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "load_average": [round(load1, 2), round(load5, 2), round(load15, 2)],
        "kernel": host_platform.release(),
    }


def _harness_versions(client: DockerClient) -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for package in HARNESS_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "unknown: not installed"
    try:
        versions["docker-engine"] = str(client.version().get("Version", "unknown"))
    except APIError as exc:
        versions["docker-engine"] = f"unknown: {exc.explanation or exc}"
    return versions


def _component_version(client: DockerClient, manifest: Manifest, record: ComponentRecord) -> str:
    if record.role == "opensearch":
        try:
            answer = httpx.get(manifest.endpoint(record.name), timeout=10.0)
            return f"OpenSearch {answer.json()['version']['number']}"
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            return f"unknown: {record.name} did not say ({exc})"
    command = VERSION_COMMANDS.get(record.role)
    if command is None:
        return "unknown: no version command for this role"
    try:
        result = client.containers.get(record.container).exec_run(list(command), demux=False)
    except (APIError, NotFound) as exc:
        return f"unknown: {exc}"
    text = (result.output or b"").decode("utf-8", "replace").strip()
    first = text.splitlines()[0].strip() if text else ""
    if result.exit_code != 0 or not first:
        return f"unknown: `{' '.join(command)}` exited {result.exit_code}: {first[:80]}"
    return first[:160]


def _image_ids(client: DockerClient, manifest: Manifest) -> dict[str, str]:
    ids: dict[str, str] = {}
    for record in manifest.components.values():
        try:
            ids.setdefault(record.role, str(client.containers.get(record.container).attrs["Image"]))
        except (APIError, NotFound) as exc:
            ids.setdefault(record.role, f"unknown: {exc}")
    return ids


def collect_provenance(
    client: DockerClient,
    settings: Settings,
    manifest: Manifest,
    *,
    seeds: Mapping[str, int] | None = None,
    generator: CpuBudget | None = None,
) -> Provenance:
    """The provenance of the running run ``manifest`` (see the module's docstring)."""
    commit, dirty = git_state()
    records = list(manifest.components.values())
    by_role: dict[str, ComponentRecord] = {}
    for record in records:
        by_role.setdefault(record.role, record)
    with ThreadPoolExecutor(max_workers=4) as pool:
        asked = dict(
            zip(
                by_role,
                pool.map(lambda r: _component_version(client, manifest, r), by_role.values()),
                strict=True,
            )
        )
    budget = generator or CpuBudget()
    return Provenance(
        git_commit=commit,
        git_dirty=dirty,
        image_ids=_image_ids(client, manifest),
        seeds=dict(seeds or manifest.provenance.seeds),
        component_versions=asked,
        versions=_harness_versions(client),
        settings=redacted_settings(settings),
        host=host_cpu(),
        load_generator={
            "budget_cores": budget.cores,
            "pinned_core": budget.pin,
            "busy_share_limit": BUSY_SHARE,
        },
    )


def record_provenance(
    client: DockerClient,
    settings: Settings,
    folder: RunFolder,
    *,
    seeds: Mapping[str, int] | None = None,
) -> Provenance:
    """Collect the provenance of the run in ``folder`` and write it into its run file."""
    manifest = folder.read_manifest()
    provenance = collect_provenance(client, settings, manifest, seeds=seeds)
    manifest.provenance = replace(provenance)
    folder.write_manifest(manifest)
    return provenance
