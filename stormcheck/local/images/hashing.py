"""Image tags from content: a hash of everything that goes into an image.

A role's tag is ``stormcheck/<role>:<hash>``, where the hash covers the recipe folder (every
file's path, executable bit and content), the Dockerfile name, the mode, the base image's id and
— through the hash-pinned lock in the folder — the wheels, and through the pom in the folder
(exact versions, no ranges) the Maven artefacts. So an image is rebuilt exactly when
something that goes into it changed, and a second ``images build`` rebuilds nothing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from stormcheck.local.catalogue import BaseRecipe, Mode, Role
from stormcheck.tools import TOOLS

__all__ = ["HASH_VERSION", "base_tag", "context_files", "role_hash"]


HASH_VERSION = "stormcheck-image-v1"
# Never part of a recipe: staged wheels, tools and jars, caches and editor droppings.
_IGNORED_DIRS = {
    "wheels",
    "tools",
    "jars",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".venv",
}
_IGNORED_SUFFIXES = (".pyc", ".pyo", "~", ".swp")


def context_files(context: Path) -> list[Path]:
    """The files of a recipe folder that go into its image, sorted, relative to ``context``."""
    found: list[Path] = []
    for directory, dirnames, filenames in os.walk(context):
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_DIRS)
        for name in filenames:
            if not name.endswith(_IGNORED_SUFFIXES):
                found.append((Path(directory) / name).relative_to(context))
    return sorted(found)


def role_hash(role: Role, mode: Mode, base_id: str) -> str:
    """The content hash that names ``role``'s image in ``mode`` on the base ``base_id``."""
    digest = hashlib.sha256()
    for part in (
        HASH_VERSION,
        role.name,
        mode,
        role.dockerfile,
        base_id,
        role.python_version or "",
        *(f"tool:{name}={TOOLS[name].version}" for name in role.tools),
        # only for roles that have one, so the other roles keep their tags
        *((f"maven:{role.maven_pom}",) if role.maven_pom else ()),
    ):
        digest.update(part.encode() + b"\0")
    for rel in context_files(role.context):
        path = role.context / rel
        executable = "x" if os.access(path, os.X_OK) else "-"
        digest.update(f"{rel.as_posix()}\0{executable}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def base_tag(recipe: BaseRecipe) -> str:
    """The offline base's tag: a hash of its recipe (suite, variant, components)."""
    digest = hashlib.sha256(
        f"{HASH_VERSION}\0{recipe.suite}\0{recipe.variant}\0{','.join(recipe.components)}".encode()
    )
    return f"stormcheck/base:{recipe.suite}-{digest.hexdigest()[:12]}"
