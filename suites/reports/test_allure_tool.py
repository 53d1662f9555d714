"""Allure 2 is a pinned tool from the npm registry; a tarball of another integrity is refused.

(The pinned one installing and running is what every report test does.)
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from stormcheck.errors import ToolInstallError
from stormcheck.tools import TOOLS, install_tool

pytestmark = pytest.mark.integration


def test_a_tarball_with_another_integrity_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = dataclasses.replace(TOOLS["allure"], npm_integrity="sha512-" + "A" * 86 + "==")
    monkeypatch.setitem(TOOLS, "allure", wrong)
    with pytest.raises(
        ToolInstallError, match=re.escape(f"expected {wrong.version} with {wrong.npm_integrity}")
    ):
        install_tool("allure", tmp_path)
    assert not wrong.folder(tmp_path).exists(), "nothing is left as installed"
