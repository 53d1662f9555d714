"""The image catalogue: which image each role of the local platform runs, in either mode.

``platform/local/images/catalogue.toml`` maps every role to a build recipe (a folder with a
``Dockerfile`` that starts ``ARG BASE``) and, where one exists, the pinned official image that
the recipe mirrors. Mode ``registry`` uses the official image, or builds the recipe on the pinned
``debian:bookworm``; mode ``offline`` builds every recipe on a Debian base made locally with
debootstrap. Roles that ship Python code name their hash-pinned lock; the wheels are downloaded
on the host and staged into the build context as ``wheels/``. Roles that need one of the pinned
tools (e.g. Toxiproxy, built from the Go module proxy on the host) name it in ``tools``; its
binaries are staged into the build context as ``tools/``. Roles built from Maven artefacts (e.g.
OpenSearch's jars) name a ``maven_pom`` in their folder; Maven copies its runtime dependencies on
the host and they are staged into the build context as ``jars/``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from stormcheck.errors import ConfigError

__all__ = ["BaseRecipe", "Catalogue", "Mode", "Role", "read_catalogue"]

Mode = Literal["registry", "offline"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    """One role's image recipe."""

    name: str
    context: Path
    dockerfile: str = "Dockerfile"
    official: str | None = None
    wheels_lock: str | None = None
    tools: tuple[str, ...] = ()
    maven_pom: str | None = None
    python_version: str | None = None
    registry_base: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseRecipe:
    """How the offline Debian base is made, and what stands for it in registry mode."""

    suite: str
    variant: str
    components: tuple[str, ...]
    registry_image: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogue:
    """Every role, plus the base recipe; ``root`` is the project root the paths are relative to."""

    root: Path
    path: Path
    base: BaseRecipe
    roles: dict[str, Role]

    def role(self, name: str) -> Role:
        """The role called ``name``; :class:`ConfigError` lists the known ones."""
        try:
            return self.roles[name]
        except KeyError:
            raise ConfigError(
                f"{self.path}: no role {name!r}; known roles: {', '.join(sorted(self.roles))}"
            ) from None


def _field(table: dict[str, Any], key: str, where: str, expected: type, *, required: bool) -> Any:
    if key not in table:
        if required:
            raise ConfigError(f"{where}: missing field {key!r}")
        return None
    value = table[key]
    if not isinstance(value, expected):
        raise ConfigError(f"{where}: field {key!r} must be a {expected.__name__}, got {value!r}")
    return value


_ROLE_KEYS = {
    "context",
    "dockerfile",
    "official",
    "wheels_lock",
    "maven_pom",
    "python_version",
    "registry_base",
    "tools",
}


def _tools(table: dict[str, Any], where: str) -> tuple[str, ...]:
    from stormcheck.tools import TOOLS

    names = _field(table, "tools", where, list, required=False) or []
    unknown = [n for n in names if n not in TOOLS]
    if unknown:
        raise ConfigError(f"{where}: unknown tool(s) {unknown}; known: {', '.join(sorted(TOOLS))}")
    return tuple(names)


def read_catalogue(path: Path, root: Path) -> Catalogue:
    """Read and check the catalogue at ``path``; paths inside are relative to ``root``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"image catalogue {path}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"image catalogue {path}: not valid TOML ({exc})") from None
    base_table = _field(data, "base", str(path), dict, required=True)
    where = f"{path} [base]"
    base = BaseRecipe(
        suite=_field(base_table, "suite", where, str, required=True),
        variant=_field(base_table, "variant", where, str, required=True),
        components=tuple(_field(base_table, "components", where, list, required=True)),
        registry_image=_field(base_table, "registry_image", where, str, required=True),
    )
    roles: dict[str, Role] = {}
    for name, table in _field(data, "roles", str(path), dict, required=True).items():
        where = f"{path} [roles.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table")
        unknown = set(table) - _ROLE_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        context = root / _field(table, "context", where, str, required=True)
        dockerfile = _field(table, "dockerfile", where, str, required=False) or "Dockerfile"
        if not (context / dockerfile).is_file():
            raise ConfigError(f"{where}: no {dockerfile} in {context}")
        lock = _field(table, "wheels_lock", where, str, required=False)
        if lock is not None and not (context / lock).is_file():
            raise ConfigError(f"{where}: wheels_lock {lock!r} not found in {context}")
        pom = _field(table, "maven_pom", where, str, required=False)
        if pom is not None and not (context / pom).is_file():
            raise ConfigError(f"{where}: maven_pom {pom!r} not found in {context}")
        roles[name] = Role(
            name=name,
            context=context,
            dockerfile=dockerfile,
            official=_field(table, "official", where, str, required=False),
            wheels_lock=lock,
            tools=_tools(table, where),
            maven_pom=pom,
            python_version=_field(table, "python_version", where, str, required=False),
            registry_base=_field(table, "registry_base", where, str, required=False),
        )
    if not roles:
        raise ConfigError(f"image catalogue {path}: no roles")
    return Catalogue(root=root, path=path, base=base, roles=roles)
