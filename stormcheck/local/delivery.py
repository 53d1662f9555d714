"""Where a local run's alerts are delivered: the webhook URL its run file records, and the sink.

A run's Alertmanager notifies one URL, ``http://<gateway of the run's network>:<port>/alerts``.
:func:`wire_monitoring` (called by ``bring_up``) picks a port that is free at that moment, records
the URL in the run file (``components.alertmanager.webhook``), and installs the configuration of
Alertmanager and Prometheus. The sink itself is a thread of a harness process
(:class:`~stormcheck.observability.sink.AlertSink`), so:

- a run owned by a process (a test session, ``stormcheck run``) hosts the sink in that process,
  right after ``bring_up``: :func:`host_sink`;
- a run started by ``stormcheck up`` outlives the command. Its Alertmanager delivers to the
  recorded URL only while some harness process hosts the sink there (:func:`host_sink` on that
  run, e.g. a test session attached to it). Until then every delivery fails and Alertmanager
  counts it in ``alertmanager_notifications_failed_total`` — the run says that nobody listens
  instead of pretending that someone does.

If the recorded port has been taken meanwhile, :func:`host_sink` binds a new one, re-points
Alertmanager at it and updates the run file, so a sink is never silently deaf.
"""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit

from docker import DockerClient

from stormcheck.errors import PlatformError
from stormcheck.local.monitoring import configure_run, gateway_address, point_alertmanager
from stormcheck.net import free_port
from stormcheck.observability.sink import ALERTS_PATH, AlertSink
from stormcheck.runs import Manifest, RunFolder

__all__ = ["host_sink", "listening_sink", "recorded_webhook", "wire_monitoring"]

_MONITORING = ("alertmanager", "prometheus")


def recorded_webhook(manifest: Manifest) -> str | None:
    """The webhook URL the run file records for the run's Alertmanager (``None``: it has none)."""
    record = manifest.components.get("alertmanager")
    return None if record is None else record.webhook


def listening_sink(folder: RunFolder) -> str | None:
    """The run's webhook URL when some process already listens there (its sink is hosted)."""
    url = recorded_webhook(folder.read_manifest())
    parts = urlsplit(url or "")
    if not url or not parts.hostname or not parts.port:
        return None
    with socket.socket() as probe:
        # As the sink's server does: a port left in TIME_WAIT by a stopped sink is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((parts.hostname, parts.port))
        except OSError as exc:
            return url if exc.errno == errno.EADDRINUSE else None
    return None


def _network(manifest: Manifest) -> str:
    if manifest.network is None:
        raise PlatformError(f"run {manifest.run_id}: the run file names no network")
    return manifest.network


def wire_monitoring(client: DockerClient, folder: RunFolder, manifest: Manifest) -> str | None:
    """Record the run's webhook URL and configure its Alertmanager and Prometheus.

    Returns the URL, or ``None`` when the run has neither component (nothing to configure).
    Raises :class:`PlatformError` when a component does not take its configuration.
    """
    if not any(name in manifest.components for name in _MONITORING):
        return None
    host = gateway_address(client, _network(manifest))
    url = f"http://{host}:{free_port(host)}{ALERTS_PATH}"
    if "alertmanager" in manifest.components:
        manifest.update("alertmanager", webhook=url)
        folder.write_manifest(manifest)
    configure_run(client, manifest, url)
    return url


def host_sink(client: DockerClient, folder: RunFolder) -> AlertSink:
    """Start the alert sink of the run in ``folder`` in this process, writing to its timeline.

    It listens where the run file says Alertmanager delivers; when that port is taken, on a new
    one, with Alertmanager re-pointed and the run file updated. The caller stops it (``stop()``
    never raises). Raises :class:`PlatformError` when the run has no Alertmanager.
    """
    manifest = folder.read_manifest()
    url = recorded_webhook(manifest)
    if url is None:
        raise PlatformError(
            f"run {manifest.run_id}: no alertmanager webhook in its run file"
            f" ({folder.manifest_path}); the run has no alerting to receive"
        )
    parts = urlsplit(url)
    host = parts.hostname or gateway_address(client, _network(manifest))
    try:
        return AlertSink(folder.timeline, host=host, port=parts.port or 0).start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise PlatformError(f"alert sink: cannot listen on {url}: {exc}") from exc
    sink = AlertSink(folder.timeline, host=host).start()
    try:
        point_alertmanager(client, manifest, sink.url)
    except BaseException:
        sink.stop()
        raise
    manifest.update("alertmanager", webhook=sink.url)
    folder.write_manifest(manifest)
    return sink
