"""Image tags are a hash of everything that goes into the image, and of nothing else."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from stormcheck.local.catalogue import Role
from stormcheck.local.images import context_files, role_hash

pytestmark = pytest.mark.unit


def _role(context: Path, name: str = "db") -> Role:
    return Role(name=name, context=context)


def _recipe(root: Path) -> Path:
    context = root / "db"
    (context / "conf").mkdir(parents=True)
    (context / "Dockerfile").write_text(
        "ARG BASE\nFROM ${BASE}\nCOPY conf /conf\n", encoding="utf-8"
    )
    (context / "conf" / "db.conf").write_text("max_connections = 100\n", encoding="utf-8")
    return context


def test_hash_is_independent_of_where_the_recipe_lives(tmp_path: Path) -> None:
    one = _recipe(tmp_path / "a")
    two = shutil.copytree(one, tmp_path / "b" / "db")
    assert role_hash(_role(one), "offline", "sha256:1") == role_hash(
        _role(two), "offline", "sha256:1"
    )


def test_one_changed_byte_changes_the_hash(tmp_path: Path) -> None:
    context = _recipe(tmp_path)
    before = role_hash(_role(context), "offline", "sha256:1")
    (context / "conf" / "db.conf").write_text("max_connections = 101\n", encoding="utf-8")
    assert role_hash(_role(context), "offline", "sha256:1") != before


def test_base_mode_exec_bit_and_new_files_change_the_hash(tmp_path: Path) -> None:
    context = _recipe(tmp_path)
    role = _role(context)
    before = role_hash(role, "offline", "sha256:1")
    assert role_hash(role, "offline", "sha256:2") != before
    assert role_hash(role, "registry", "sha256:1") != before
    (context / "conf" / "db.conf").chmod(0o755)
    executable = role_hash(role, "offline", "sha256:1")
    assert executable != before
    (context / "extra.sh").write_text("true\n", encoding="utf-8")
    assert role_hash(role, "offline", "sha256:1") != executable


def test_staged_wheels_and_caches_are_not_part_of_the_recipe(tmp_path: Path) -> None:
    context = _recipe(tmp_path)
    before = role_hash(_role(context), "offline", "sha256:1")
    for junk in ("wheels/x-1.0-py3-none-any.whl", "__pycache__/m.cpython-312.pyc", "conf/m.pyc"):
        (context / junk).parent.mkdir(parents=True, exist_ok=True)
        (context / junk).write_bytes(b"junk")
    assert role_hash(_role(context), "offline", "sha256:1") == before
    assert [p.as_posix() for p in context_files(context)] == ["Dockerfile", "conf/db.conf"]


def test_a_changed_pin_in_a_lock_changes_only_that_roles_hash(tmp_path: Path) -> None:
    shop = _recipe(tmp_path / "shop")
    db = _recipe(tmp_path / "db")
    (shop / "requirements.lock").write_text(
        "idna==3.10 \\\n    --hash=sha256:aa\n", encoding="utf-8"
    )
    shop_role = Role(name="shop", context=shop, wheels_lock="requirements.lock")
    before = (role_hash(shop_role, "offline", "b"), role_hash(_role(db), "offline", "b"))
    (shop / "requirements.lock").write_text(
        "idna==3.9 \\\n    --hash=sha256:bb\n", encoding="utf-8"
    )
    after = (role_hash(shop_role, "offline", "b"), role_hash(_role(db), "offline", "b"))
    assert after[0] != before[0] and after[1] == before[1]


def test_a_staged_tools_version_is_part_of_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stormcheck import tools

    context = _recipe(tmp_path)
    role = Role(name="proxy", context=context, tools=("toxiproxy",))
    before = role_hash(role, "offline", "b")
    (context / "tools").mkdir()
    (context / "tools" / "toxiproxy-server").write_bytes(b"staged, not part of the recipe")
    assert role_hash(role, "offline", "b") == before
    bumped = dataclasses.replace(tools.TOOLS["toxiproxy"], version="9.9.9")
    monkeypatch.setitem(tools.TOOLS, "toxiproxy", bumped)
    assert role_hash(role, "offline", "b") != before
