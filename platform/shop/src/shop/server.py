"""Process entry point: migrate, then serve with uvicorn and shut down gracefully."""

from __future__ import annotations

import argparse
import logging
import signal
import time
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from shop.app import create_app
from shop.logs import configure_logging
from shop.migrations import apply_migrations
from shop.readiness import Readiness
from shop.settings import ConfigError, Settings, load_settings

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """uvicorn, with a drain phase on the first SIGTERM.

    SIGTERM turns readiness false and keeps serving for `drain_seconds`, so load balancers
    see the replica leave before its socket closes; then uvicorn stops accepting, waits for
    in-flight requests (up to `timeout_graceful_shutdown`) and the lifespan closes the pools.
    A second signal, or SIGINT, falls back to uvicorn's own handling.
    """

    def __init__(self, config: uvicorn.Config, app: Starlette, drain_seconds: float) -> None:
        super().__init__(config)
        self._app = app
        self._drain_seconds = drain_seconds
        self._drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Signal handler (runs between two steps of the event loop, in the main thread)."""
        if sig == signal.SIGTERM and self._drain_until is None and not self.should_exit:
            readiness: Readiness | None = getattr(self._app.state, "readiness", None)
            if readiness is not None:
                readiness.start_draining()
            self._drain_until = time.monotonic() + self._drain_seconds
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        """Called by uvicorn every 100 ms; ends the drain phase when it is due."""
        if self._drain_until is not None and time.monotonic() >= self._drain_until:
            log.info("drain period over, stopping")
            self.should_exit = True
        return await super().on_tick(counter)


def serve(settings: Settings) -> None:
    """Run the HTTP server until it is told to stop."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(settings.shutdown_timeout),
        server_header=False,
    )
    DrainingServer(config, app, settings.drain_seconds).run()


def main(argv: list[str] | None = None) -> int:
    """`shop serve` (default: migrate if SHOP_MIGRATE, then serve) or `shop migrate`."""
    parser = argparse.ArgumentParser(prog="shop", description="The stormcheck reference shop API.")
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        parser.exit(2, f"shop: configuration error: {exc}\n")
    configure_logging(settings.log_level, settings.replica, settings.zone)
    if args.command == "migrate" or settings.migrate:
        try:
            apply_migrations(settings.database_url, settings.db_startup_deadline)
        except Exception:
            log.exception("migrations failed")
            return 1
    if args.command == "serve":
        serve(settings)
    return 0
