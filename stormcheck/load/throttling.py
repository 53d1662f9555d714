"""How long a component of the platform was held back by its CPU quota during a load run.

A CFS-throttled container runs nothing until its next period: a request that arrives meanwhile
waits in the kernel's socket queue, where the server's own latency histogram cannot see it (its
timer starts when the application gets the request). The request log, timed from the client,
sees all of it. So when the log's tail and the server's histogram disagree, the throttled time
of the server decides whether the comparison could be made at all: if the requests that arrived
while it was throttled are at least the share a quantile leaves above it (1 % for p99), that
quantile is not comparable, and the agreement is ``inconclusive`` for it, with the figures.

Read from Docker's stats (``cpu_stats.throttling_data``), the same on cgroup v1 and v2. On v1 the
throttled time is summed over every CPU's run queue and can exceed the wall-clock time: the
exposed share is then an over-estimate, which errs towards ``inconclusive``, never towards a pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker.errors
from docker import DockerClient

from stormcheck.errors import PlatformError

__all__ = ["ThrottleSample", "Throttling", "read_throttling"]


@dataclass(frozen=True, slots=True)
class ThrottleSample:
    """Docker's cumulative CFS counters of one container at one moment."""

    container: str
    periods: int
    throttled_periods: int
    throttled_ns: int


@dataclass(frozen=True, slots=True)
class Throttling:
    """The throttling of one container between two samples."""

    container: str
    periods: int
    throttled_periods: int
    throttled_s: float

    @classmethod
    def between(cls, before: ThrottleSample, after: ThrottleSample) -> Throttling:
        """The difference of two samples of the same container (a restart in between: refused)."""
        if before.container != after.container:
            raise ValueError(f"samples of {before.container} and {after.container}")
        if after.periods < before.periods:
            raise PlatformError(
                f"{after.container}: CFS counters went backwards (restarted between the samples?)"
            )
        return cls(
            container=after.container,
            periods=after.periods - before.periods,
            throttled_periods=after.throttled_periods - before.throttled_periods,
            throttled_s=(after.throttled_ns - before.throttled_ns) / 1e9,
        )

    def exposed_share(self, arrival_rate: float, requests: int) -> float:
        """The share of ``requests`` (sent at ``arrival_rate``/s) that arrived while throttled."""
        if requests <= 0:
            return 0.0
        return min(1.0, self.throttled_s * arrival_rate / requests)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, for evidence."""
        return {
            "container": self.container,
            "periods": self.periods,
            "throttled_periods": self.throttled_periods,
            "throttled_s": round(self.throttled_s, 3),
        }


def read_throttling(client: DockerClient, container: str) -> ThrottleSample:
    """The container's CFS counters now; :class:`PlatformError` if Docker cannot say."""
    try:
        stats = client.api.stats(container, stream=False)
    except docker.errors.DockerException as exc:
        raise PlatformError(f"docker stats {container} failed: {exc}") from exc
    data = (stats.get("cpu_stats") or {}).get("throttling_data")
    if not isinstance(data, dict) or "periods" not in data:
        raise PlatformError(
            f"docker stats {container}: no cpu_stats.throttling_data in {stats!r:.200}"
        )
    return ThrottleSample(
        container=container,
        periods=int(data["periods"]),
        throttled_periods=int(data["throttled_periods"]),
        throttled_ns=int(data["throttled_time"]),
    )
