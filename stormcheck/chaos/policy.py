"""The blast-radius policy: which targets faults may touch, how much of them, and a dry run.

The settings hold the policy (profile file, ``STORMCHECK_*``, ``--set``):

- ``allowed_targets``: patterns (``fnmatch``) of the targets faults may touch. A target is named
  ``local:<run id>`` (a run of the local platform), ``kube:<context>`` or
  ``aws:<account>/<region>`` (the remote targets, once they exist). The local profile allows
  ``local:*``; the remote profiles allow nothing until a target is named.
- ``max_blast_share``: the largest share of a role's members (or of the zones) one experiment may
  hit, over all its actions (local profile: 1.0, every member).
- ``production_targets``: the targets that are production. A fault there needs
  ``allow_production`` (``experiment run --allow-production``) *and* at least one stop condition
  (:mod:`stormcheck.chaos.safeguards`).

The stormcheck control (:mod:`stormcheck.chaos.control`) asks :func:`check_experiment` before the
experiment and :func:`check_action` before each action, and refuses with
:class:`~chaoslib.exceptions.InterruptExecution` — so nothing is changed by a refused experiment.

The targets of each action are resolved exactly as the actions resolve them (the same seeded
choice, :func:`stormcheck.chaos.local.actions.choose`); :func:`dry_run` prints them without
changing anything.
"""

from __future__ import annotations

import copy
import fnmatch
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stormcheck.errors import ConfigError, StormcheckError
from stormcheck.runs import RunFolder
from stormcheck.settings import Settings, load_settings

__all__ = [
    "DryRun",
    "Member",
    "PlannedFault",
    "PolicyRefusal",
    "check_action",
    "check_experiment",
    "dry_run",
    "local_target",
    "note_refusal",
    "plan_activity",
    "policy_settings",
    "settings_in_force",
    "stop_condition_count",
]

ACTIONS_MODULE = "stormcheck.chaos.local.actions"
SAFEGUARDS_MODULE = "stormcheck.chaos.safeguards"
_CONTAINER_ACTIONS = ("kill", "pause", "stop", "throttle_cpu", "limit_memory")
_LINK_ACTIONS = ("add_latency", "add_timeout", "limit_bandwidth", "reset_peer", "disable_link")
_MEMBER_ACTIONS = ("partition", "fill_disk")
_DYNAMIC_ROLES = {"postgres-primary": "patroni", "redis-master": "redis-node"}

_IN_FORCE: ContextVar[Settings | None] = ContextVar("stormcheck_policy_settings", default=None)
_REFUSALS: ContextVar[list[str] | None] = ContextVar("stormcheck_policy_refusals", default=None)


class PolicyRefusal(StormcheckError):
    """The policy forbids this experiment or action on this target; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Member:
    """One component of a run as the policy sees it."""

    name: str
    role: str
    zone: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedFault:
    """What one method action would do: to which members, and how much of each role."""

    activity: str
    func: str
    what: str  # one line for the terminal
    targets: tuple[str, ...] = ()
    roles_hit: Mapping[str, frozenset[str]] = field(default_factory=dict)  # role -> members hit
    zones_hit: frozenset[str] = frozenset()  # whole zones lost
    resolved: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class DryRun:
    """What an experiment would do to what, and whether the policy lets it; nothing was changed."""

    file: Path
    title: str
    target: str
    seed: int
    faults: tuple[PlannedFault, ...]
    rollbacks: tuple[str, ...]
    refusal: str | None

    @property
    def allowed(self) -> bool:
        """Whether the policy lets this experiment run."""
        return self.refusal is None

    def describe(self) -> str:
        """The dry run, for the terminal."""
        lines = [
            f"dry run of {self.file} ({self.title})",
            f"  target: {self.target}   seed: {self.seed} (pass --seed {self.seed} to run exactly"
            " this)",
        ]
        lines += [f"  would {f.what}" for f in self.faults] or ["  no action in the method"]
        lines += [f"  then roll back: {name}" for name in self.rollbacks]
        lines.append(
            "  policy: allowed" if self.refusal is None else f"  policy: REFUSED: {self.refusal}"
        )
        lines.append("  nothing was changed")
        return "\n".join(lines)


def local_target(run_id: str) -> str:
    """The policy's name of a run of the local platform."""
    return f"local:{run_id}"


def policy_settings() -> Settings:
    """The settings the policy applies: those of the command running the experiment when it
    set them (:func:`settings_in_force`), else the environment's (a plain ``chaos run``)."""
    return _IN_FORCE.get() or load_settings()


@contextmanager
def settings_in_force(settings: Settings) -> Iterator[list[str]]:
    """Make ``settings`` (with the command line's ``--set``) the policy's while the block runs;
    yields the list of the refusals made meanwhile (:func:`note_refusal`)."""
    refusals: list[str] = []
    token = _IN_FORCE.set(settings)
    noted = _REFUSALS.set(refusals)
    try:
        yield refusals
    finally:
        _REFUSALS.reset(noted)
        _IN_FORCE.reset(token)


def note_refusal(reason: str) -> None:
    """Tell the command running the experiment that the policy (or the kill switch) refused."""
    refusals = _REFUSALS.get()
    if refusals is not None:
        refusals.append(reason)


def stop_condition_count(experiment: Mapping[str, Any]) -> int:
    """How many stop conditions the experiment declares (its safeguards control's)."""
    count = 0
    for control in experiment.get("controls") or []:
        provider = (control or {}).get("provider") or {}
        if provider.get("module") == SAFEGUARDS_MODULE:
            conditions = (provider.get("arguments") or {}).get("conditions") or []
            count += len(conditions) if isinstance(conditions, list) else 0
    return count


def _matches(target: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(target, p) for p in patterns)


def _target_refusal(settings: Settings, target: str, stop_conditions: int) -> str | None:
    if not _matches(target, settings.allowed_targets):
        allowed = ", ".join(settings.allowed_targets) or "none"
        return f"target {target} is not in allowed_targets ({allowed})"
    if _matches(target, settings.production_targets):
        if not settings.allow_production:
            return (
                f"target {target} is production (production_targets): it needs the explicit"
                " flag --allow-production (allow_production)"
            )
        if stop_conditions < 1:
            return (
                f"target {target} is production: the experiment needs at least one stop"
                f" condition (a {SAFEGUARDS_MODULE} control with conditions)"
            )
    return None


def _share_refusal(
    settings: Settings, faults: Sequence[PlannedFault], members: Sequence[Member]
) -> str | None:
    limit = settings.max_blast_share
    unresolved = [f.activity for f in faults if not f.resolved]
    if unresolved and limit < 1:
        return (
            f"cannot tell what {', '.join(unresolved)} would hit, and max_blast_share is"
            f" {limit:g} (< 1)"
        )
    by_role: dict[str, set[str]] = {}
    for fault in faults:
        for role, hit in fault.roles_hit.items():
            by_role.setdefault(role, set()).update(hit)
    for role, members_hit in sorted(by_role.items()):
        total = sum(1 for m in members if m.role == role)
        if total and len(members_hit) / total > limit + 1e-9:
            return (
                f"the experiment hits {len(members_hit)} of {total} {role} member(s)"
                f" ({len(members_hit) / total:.0%}); max_blast_share is {limit:.0%}"
            )
    zones = {m.zone for m in members}
    lost: set[str] = set().union(*(f.zones_hit for f in faults)) if faults else set()
    if zones and len(lost) / len(zones) > limit + 1e-9:
        return (
            f"the experiment loses {len(lost)} of {len(zones)} zone(s); max_blast_share is"
            f" {limit:.0%}"
        )
    return None


# --- resolving what an action hits ---------------------------------------------------------


def _arguments(activity: Mapping[str, Any], configuration: Mapping[str, Any]) -> dict[str, Any]:
    from chaoslib import substitute

    raw = ((activity.get("provider") or {}).get("arguments")) or {}
    return dict(substitute(copy.deepcopy(dict(raw)), dict(configuration), {}))


def plan_activity(
    activity: Mapping[str, Any],
    members: Sequence[Member],
    *,
    seed: int,
    configuration: Mapping[str, Any] | None = None,
    dynamic: Callable[[str], str] | None = None,
) -> PlannedFault:
    """What the method action ``activity`` would hit among ``members``.

    ``seed`` stands for the seed the action draws when its arguments name none; ``dynamic``
    resolves ``postgres-primary`` / ``redis-master`` to the member holding the role now (without
    it they stay named by role).
    """
    from stormcheck.chaos.local.actions import choose
    from stormcheck.chaos.local.roles import DYNAMIC_MEMBERS

    name = str(activity.get("name", ""))
    provider = activity.get("provider") or {}
    func = str(provider.get("func", ""))
    if provider.get("type") != "python" or provider.get("module") != ACTIONS_MODULE:
        where = provider.get("module") or provider.get("url") or provider.get("path")
        return PlannedFault(
            activity=name,
            func=func,
            what=f"run {name!r} ({where}.{func}): not a local fault, its targets are not known",
            resolved=False,
        )
    args = _arguments(activity, configuration or {})
    roles = {m.name: m.role for m in members}
    extra = f", held {args['duration_s']} s" if args.get("duration_s") else ""

    def pick(value: str) -> tuple[str, str, str | None]:
        """(shown, member, role) of a named target."""
        if value in DYNAMIC_MEMBERS:
            actual = dynamic(value) if dynamic is not None else value
            role = _DYNAMIC_ROLES.get(value)
            if actual in roles:
                return f"{actual} ({value} now)", actual, roles[actual]
            return value, value, role
        return value, value, roles.get(value)

    def hit(picked: Sequence[tuple[str, str, str | None]]) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {}
        for _, member, role in picked:
            if role is not None:
                found.setdefault(role, set()).add(member)
        return {r: frozenset(v) for r, v in found.items()}

    if func in _CONTAINER_ACTIONS:
        target = str(args.get("target", ""))
        share = float(args.get("share", 1.0))
        chosen_seed = int(args["seed"]) if isinstance(args.get("seed"), int) else seed
        in_role = sorted(m.name for m in members if m.role == target)
        if target in DYNAMIC_MEMBERS or target in roles or not in_role:
            picked = [pick(target)]
            how = ""
        else:
            picked = [pick(n) for n in choose(in_role, share, chosen_seed)]
            how = f" ({len(picked)} of {len(in_role)} {target} member(s), seed {chosen_seed})"
        return PlannedFault(
            activity=name,
            func=func,
            what=f"{func} {', '.join(p[0] for p in picked)}{how}{extra}",
            targets=tuple(p[1] for p in picked),
            roles_hit=hit(picked),
        )
    if func == "zone_down":
        zone = str(args.get("zone", ""))
        lost = sorted(m.name for m in members if m.zone == zone)
        mode = args.get("mode", "kill")
        return PlannedFault(
            activity=name,
            func=func,
            what=f"lose zone {zone} ({mode}): {', '.join(lost) or 'no member'}{extra}",
            targets=tuple(lost),
            roles_hit=hit([pick(n) for n in lost]),
            zones_hit=frozenset({zone}),
        )
    if func in _LINK_ACTIONS:
        link = str(args.get("link", ""))
        api = [m.name for m in members if m.role == "shop"]
        return PlannedFault(
            activity=name,
            func=func,
            what=(f"{func} on the API's {link} link (Toxiproxy; every shop replica's path){extra}"),
            targets=("toxiproxy",),
            roles_hit={"shop": frozenset(api)} if api else {},
        )
    if func in _MEMBER_ACTIONS:
        member = pick(str(args.get("member", "")))
        peers = str(args.get("peers", "") or "")
        what = (
            f"cut {member[0]} off from {peers or 'everything'}"
            if func == "partition"
            else f"fill {member[0]}'s data volume"
        )
        return PlannedFault(
            activity=name,
            func=func,
            what=what + extra,
            targets=(member[1],),
            roles_hit=hit([member]),
        )
    return PlannedFault(
        activity=name, func=func, what=f"run {func} (targets not known)", resolved=False
    )


def _method_actions(experiment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [a for a in experiment.get("method") or [] if (a or {}).get("type") == "action"]


def _run_members(folder: RunFolder) -> list[Member]:
    manifest = folder.read_manifest()
    return [Member(n, r.role, r.zone) for n, r in sorted(manifest.components.items())]


def _dynamic_resolver(folder: RunFolder, settings: Settings) -> Callable[[str], str]:
    def resolve(name: str) -> str:
        from stormcheck.chaos.context import RunHandle
        from stormcheck.chaos.local.roles import resolve as resolve_member

        handle = RunHandle(folder, settings)
        try:
            return resolve_member(handle, name)
        except StormcheckError:
            return name
        finally:
            handle.close()

    return resolve


def check_experiment(
    folder: RunFolder, experiment: Mapping[str, Any], configuration: Mapping[str, Any] | None
) -> None:
    """Raise :class:`PolicyRefusal` when the experiment may not run against the run in
    ``folder`` (target, production consent, blast radius of its whole method)."""
    settings = policy_settings()
    target = local_target(folder.run_id)
    refusal = _target_refusal(settings, target, stop_condition_count(experiment))
    if refusal is None:
        members = _run_members(folder)
        faults = [
            plan_activity(a, members, seed=0, configuration=configuration)
            for a in _method_actions(experiment)
        ]
        refusal = _share_refusal(settings, faults, members)
    if refusal is not None:
        note_refusal(refusal)
        raise PolicyRefusal(refusal)


def check_action(
    folder: RunFolder, activity: Mapping[str, Any], configuration: Mapping[str, Any] | None
) -> None:
    """Raise :class:`PolicyRefusal` when the action may not run against the run in ``folder``
    (its target is checked again: a role may have moved, a setting changed)."""
    settings = policy_settings()
    refusal = _target_refusal(settings, local_target(folder.run_id), stop_conditions=1)
    if refusal is None and activity.get("type") == "action":
        members = _run_members(folder)
        fault = plan_activity(activity, members, seed=0, configuration=configuration)
        refusal = _share_refusal(settings, [fault], members)
    if refusal is not None:
        note_refusal(refusal)
        raise PolicyRefusal(refusal)


def dry_run(file: Path, folder: RunFolder | None, settings: Settings, seed: int | None) -> DryRun:
    """What the experiment in ``file`` would do to what, and whether the policy lets it —
    changing nothing (no ledger entry, no snapshot, no container touched).

    ``folder``: the run it would act on (its members, and who holds ``postgres-primary`` /
    ``redis-master`` now); ``None``: a new full stack as ``experiment run`` would start it.
    ``seed``: the seed its target-choosing actions get (drawn and shown when ``None``).
    """
    from stormcheck.chaos.experiment import pin_seed
    from stormcheck.chaos.experiment_file import check_experiment as check_file
    from stormcheck.chaos.experiment_file import read_experiment

    problems = check_file(file)
    if problems:
        raise ConfigError("\n".join(problems))
    document = copy.deepcopy(dict(read_experiment(file).document))
    chosen = secrets.randbelow(2**31) if seed is None else seed
    pin_seed(document, chosen)
    configuration = _configuration(document)
    if folder is not None:
        members = _run_members(folder)
        dynamic: Callable[[str], str] | None = _dynamic_resolver(folder, settings)
        target = local_target(folder.run_id)
    else:
        from stormcheck.local.stacks import components_for

        members = [Member(c.name, c.role, c.zone) for c in components_for("full")]
        dynamic = None
        target = local_target("<a new full stack>")
    faults = tuple(
        plan_activity(a, members, seed=chosen, configuration=configuration, dynamic=dynamic)
        for a in _method_actions(document)
    )
    refusal = _target_refusal(settings, target, stop_condition_count(document))
    if refusal is None:
        refusal = _share_refusal(settings, faults, members)
    return DryRun(
        file=file,
        title=str(document.get("title", "")),
        target=target,
        seed=chosen,
        faults=faults,
        rollbacks=tuple(str(r.get("name")) for r in document.get("rollbacks") or []),
        refusal=refusal,
    )


def _configuration(document: Mapping[str, Any]) -> dict[str, Any]:
    from chaoslib.configuration import load_configuration
    from chaoslib.exceptions import ChaosException

    try:
        return dict(load_configuration(dict(document.get("configuration") or {}), {}))
    except ChaosException as exc:
        raise ConfigError(f"configuration: {exc}") from None
