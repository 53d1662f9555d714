"""Policy rules (python-hcl2) over platform/terraform: the real tree passes every rule, and each
deliberately broken copy fails its rule with the file and the rule id named."""

from __future__ import annotations

from pathlib import Path

import pytest

from suites.platform.terraform.broken import BROKEN, ROOT, Broken
from suites.platform.terraform.policy import RULES, PolicyError, Tree, load_tree

pytestmark = pytest.mark.static

MODULES = {
    "acm", "backup", "ecr", "eks", "elasticache", "iam", "kms", "opensearch", "platform", "rds",
    "secrets", "security-groups", "vpc", "waf",
}  # fmt: skip
ENVS = {"staging", "production", "dr"}


@pytest.fixture(scope="module")
def tree() -> Tree:
    return load_tree(ROOT)


def test_the_tree_holds_every_module_and_environment(tree: Tree) -> None:
    folders = {str(c.folder.relative_to(ROOT)) for c in tree.configs}
    assert folders == {f"modules/{m}" for m in MODULES} | {f"envs/{e}" for e in ENVS}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_platform_meets_the_rule(tree: Tree, rule: str) -> None:
    findings = RULES[rule](tree)
    assert not findings, "\n".join(map(str, findings))


def test_every_rule_has_a_broken_copy_that_fails_it() -> None:
    assert {b.rule for b in BROKEN} == set(RULES)


@pytest.mark.parametrize("broken", BROKEN, ids=lambda b: b.name)
def test_a_broken_copy_fails_its_rule_naming_file_and_rule(broken: Broken, tmp_path: Path) -> None:
    target = broken.make(tmp_path)
    findings = RULES[broken.rule](load_tree(tmp_path))
    named = [f for f in findings if f.file == target]
    assert named, f"{broken.name}: rule {broken.rule} found nothing in {target}: {findings}"
    assert str(target) in str(named[0]) and f"[{broken.rule}]" in str(named[0])


def test_an_unreadable_file_is_one_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "this" {\n  bucket = \n', "utf-8")
    with pytest.raises(PolicyError, match=str(tmp_path / "main.tf")):
        load_tree(tmp_path)
