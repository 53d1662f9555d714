"""The seam every profile shares: where the platform runs, how it is provisioned and torn down,
how its endpoints are reached, and where faults are applied.

One vocabulary (design §2): ``local`` (every component a Docker container on this machine),
``kubernetes`` (any cluster, provisioned with Helm) and ``aws`` (EKS, RDS and ElastiCache from
Terraform, then the kubernetes target). :func:`open_target` gives the :class:`Target` of the
settings' profile; a profile whose target does not exist yet is refused in one line, never
silently run on the local platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from stormcheck.errors import ConfigError
from stormcheck.runs import Lease, Manifest, RunFolder
from stormcheck.settings import PROFILES, Settings

__all__ = ["FaultScope", "Owner", "Progress", "Target", "TargetUnavailableError", "open_target"]

Owner = Literal["process", "user"] | Lease
Progress = Callable[[str], None]


class TargetUnavailableError(ConfigError):
    """The settings name a profile whose target cannot be used (yet)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultScope:
    """Where a run's faults are applied, and how its members are found there.

    ``kind`` names the control plane (the Docker engine of this machine, a Kubernetes API server,
    an AWS account); ``place`` the part of it the run owns (a Docker network, a kube context and
    namespace, an account and region); ``selector`` the labels every member of the run carries
    there. A fault may touch nothing outside its run's scope.
    """

    kind: Literal["docker", "kubernetes", "aws"]
    place: str
    selector: Mapping[str, str] = field(default_factory=dict)


class Target(Protocol):
    """What the harness needs of a platform, whatever runs it."""

    @property
    def profile(self) -> str:
        """The profile this target serves (``local``, ``kubernetes``, ``aws``)."""
        ...

    def provision(
        self, *, owner: Owner, only: tuple[str, ...] = (), progress: Progress = ...
    ) -> tuple[RunFolder, Manifest]:
        """Bring a new run of the platform up; return its folder and run file."""
        ...

    def endpoints(self, manifest: Manifest, component: str) -> dict[str, str]:
        """How a client reaches ``component`` of a run (name → URL, credentials included)."""
        ...

    def fault_scope(self, manifest: Manifest) -> FaultScope:
        """Where the run's faults are applied."""
        ...

    def teardown(self, folder: RunFolder) -> tuple[str, ...]:
        """Remove everything of the run; return what was removed."""
        ...


_COMING = {
    "kubernetes": "provisioning with `helm upgrade --install` of platform/charts and the"
    " chaostoolkit-kubernetes faults",
    "aws": "`tofu apply` of platform/terraform/envs and the chaostoolkit-aws faults",
}


def open_target(settings: Settings) -> Target:
    """The target of ``settings.profile``; :class:`TargetUnavailableError` when it has none yet."""
    if settings.profile == "local":
        from stormcheck.targets.local import LocalTarget

        return LocalTarget(settings)
    if settings.profile in _COMING:
        raise TargetUnavailableError(
            f"profile {settings.profile!r}: its target is not yet available (still to come:"
            f" {_COMING[settings.profile]}); use --profile local for the platform on this machine"
        )
    raise TargetUnavailableError(
        f"profile {settings.profile!r}: unknown; expected one of {', '.join(PROFILES)}"
    )
