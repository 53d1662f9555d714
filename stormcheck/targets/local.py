"""The ``local`` target: every component a Docker container on this machine (design §3)."""

from __future__ import annotations

from dataclasses import dataclass

from stormcheck.local.platform import RUN_LABEL
from stormcheck.local.session import bring_down, bring_up
from stormcheck.runs import Manifest, RunFolder
from stormcheck.settings import Settings
from stormcheck.targets import FaultScope, Owner, Progress

__all__ = ["LocalTarget"]


def _quiet(_line: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class LocalTarget:
    """Runs of the settings' stack on this machine's Docker engine, one network per run."""

    settings: Settings

    @property
    def profile(self) -> str:
        """``local``."""
        return "local"

    def provision(
        self, *, owner: Owner, only: tuple[str, ...] = (), progress: Progress = _quiet
    ) -> tuple[RunFolder, Manifest]:
        """Start a new run (images built first when missing), monitoring wired in."""
        return bring_up(self.settings, owner=owner, only=only, progress=progress)

    def endpoints(self, manifest: Manifest, component: str) -> dict[str, str]:
        """The component's URLs on 127.0.0.1, credentials put back in."""
        return manifest.endpoints(component)

    def fault_scope(self, manifest: Manifest) -> FaultScope:
        """This machine's Docker engine: the run's network, its containers by their run label."""
        return FaultScope(
            kind="docker",
            place=manifest.network or f"stormcheck-{manifest.run_id}",
            selector={RUN_LABEL: manifest.run_id},
        )

    def teardown(self, folder: RunFolder) -> tuple[str, ...]:
        """Remove the run's containers, network and volumes; the run file says ``down``."""
        return bring_down(self.settings, folder)
