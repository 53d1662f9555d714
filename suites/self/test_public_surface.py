"""Every engine module declares its public names, and they exist (an ``__all__`` that lies is a bug)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import stormcheck

pytestmark = pytest.mark.static


def _modules() -> list[str]:
    found = pkgutil.walk_packages(stormcheck.__path__, "stormcheck.")
    return sorted(m.name for m in found if not m.name.endswith(".__main__"))


@pytest.mark.parametrize("name", _modules())
def test_module_declares_existing_public_names(name: str) -> None:
    module = importlib.import_module(name)
    if (
        module.__file__
        and module.__file__.endswith("__init__.py")
        and not hasattr(module, "__all__")
    ):
        return  # a package without code of its own
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names missing objects: {missing}"
