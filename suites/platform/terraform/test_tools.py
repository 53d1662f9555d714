"""OpenTofu and tflint, pinned and built from the Go module proxy, over platform/terraform.

`tofu fmt -check` needs no provider. tflint runs its bundled `terraform` ruleset only (typed and
documented variables and outputs, required version and providers, unused declarations, naming,
standard module structure): rulesets are plugins downloaded from GitHub, which this machine cannot
reach. `tofu validate`/`plan` need the AWS provider from a registry and are not run here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stormcheck.settings import Settings
from stormcheck.tools import TOOLS
from suites.platform.terraform.broken import BROKEN, ROOT
from suites.platform.terraform.tooling import installed, run

pytestmark = pytest.mark.static

TFLINT_CONFIG = ROOT / ".tflint.hcl"
# Broken copies tflint must name, with the rule it names them by.
TFLINT_BROKEN = {
    "untyped-variable": "terraform_typed_variables",
    "unpinned-provider": "terraform_required_providers",
}


@pytest.fixture(scope="module")
def tofu(settings: Settings) -> Path:
    return installed(settings, "tofu")


@pytest.fixture(scope="module")
def tflint(settings: Settings) -> Path:
    return installed(settings, "tflint")


def test_the_pinned_versions_are_the_ones_installed(tofu: Path, tflint: Path) -> None:
    tofu_version = run([tofu, "version", "-json"], ROOT)
    assert json.loads(tofu_version.stdout)["terraform_version"] == TOOLS["tofu"].version
    tflint_version = run([tflint, "--version"], ROOT).stdout
    assert f"TFLint version {TOOLS['tflint'].version}" in tflint_version
    assert "ruleset.terraform" in tflint_version and "bundled" in tflint_version


def test_tofu_fmt_check_passes(tofu: Path) -> None:
    done = run([tofu, "fmt", "-check", "-recursive", "-list=true", "."], ROOT)
    assert done.returncode == 0, f"not in canonical format:\n{done.stdout}{done.stderr}"


def test_tofu_fmt_check_names_a_misformatted_file(tofu: Path, tmp_path: Path) -> None:
    module = tmp_path / "modules" / "acm"
    module.mkdir(parents=True)
    source = (ROOT / "modules" / "acm" / "main.tf").read_text(encoding="utf-8")
    (module / "main.tf").write_text(
        source.replace("  validation_method         =", "  validation_method =")
    )
    done = run([tofu, "fmt", "-check", "-recursive", "-list=true", "."], tmp_path)
    assert done.returncode != 0 and "modules/acm/main.tf" in done.stdout, done


def _tflint(tflint: Path, cwd: Path, *args: str) -> dict[str, list[dict[str, object]]]:
    done = run([tflint, "--config", TFLINT_CONFIG, "--format", "json", *args], cwd)
    try:
        report: dict[str, list[dict[str, object]]] = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"tflint gave no JSON report (exit {done.returncode}): {done.stderr}")
    return report


def test_tflint_finds_nothing(tflint: Path) -> None:
    report = _tflint(tflint, ROOT, "--recursive")
    assert report == {"issues": [], "errors": []}, json.dumps(report, indent=1)


@pytest.mark.parametrize("name", sorted(TFLINT_BROKEN))
def test_tflint_names_rule_and_file_of_a_broken_copy(
    tflint: Path, tmp_path: Path, name: str
) -> None:
    broken = next(b for b in BROKEN if b.name == name)
    target = broken.make(tmp_path)
    report = _tflint(tflint, target.parent)
    named = [
        issue
        for issue in report["issues"]
        if issue["rule"]["name"] == TFLINT_BROKEN[name]  # type: ignore[index]
        and issue["range"]["filename"] == target.name  # type: ignore[index]
    ]
    assert named, json.dumps(report, indent=1)


def test_a_missing_tool_fails_the_test_naming_the_install_command(tmp_path: Path) -> None:
    empty = Settings(cache_dir=tmp_path)
    with pytest.raises(
        pytest.fail.Exception,
        match=r"tofu 1\.10\.10 is not installed.*stormcheck tools install tofu",
    ):
        installed(empty, "tofu")
