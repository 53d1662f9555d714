"""Roles built from Maven artefacts: the pom is part of the recipe, the staged jars are not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError
from stormcheck.local.catalogue import Role, read_catalogue
from stormcheck.local.images import context_files, maven_jars, role_hash

BASE = '[base]\nsuite = "bookworm"\nvariant = "minbase"\ncomponents = ["main"]\nregistry_image = "debian:bookworm-20241111"\n'
POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.stormcheck.test</groupId><artifactId>tiny</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.opensearch</groupId><artifactId>opensearch-secure-sm</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""


def _recipe(root: Path, version: str = "2.19.1") -> Path:
    context = root / "node"
    context.mkdir(parents=True)
    (context / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\nCOPY jars/ /jars/\n")
    (context / "pom.xml").write_text(POM.format(version=version), encoding="utf-8")
    return context


@pytest.mark.unit
def test_the_catalogue_reads_maven_pom_and_refuses_a_missing_one(tmp_path: Path) -> None:
    _recipe(tmp_path)
    path = tmp_path / "catalogue.toml"
    path.write_text(BASE + '[roles.node]\ncontext = "node"\nmaven_pom = "pom.xml"\n')
    assert read_catalogue(path, tmp_path).role("node").maven_pom == "pom.xml"
    path.write_text(BASE + '[roles.node]\ncontext = "node"\nmaven_pom = "nope.xml"\n')
    with pytest.raises(ConfigError, match=r"\[roles.node\]: maven_pom 'nope.xml' not found in"):
        read_catalogue(path, tmp_path)


@pytest.mark.unit
def test_a_changed_pom_changes_the_hash_and_staged_jars_do_not(tmp_path: Path) -> None:
    context = _recipe(tmp_path)
    role = Role(name="node", context=context, maven_pom="pom.xml")
    before = role_hash(role, "offline", "b")
    (context / "jars").mkdir()
    (context / "jars" / "x-1.0.jar").write_bytes(b"staged, not part of the recipe")
    assert role_hash(role, "offline", "b") == before
    assert [p.as_posix() for p in context_files(context)] == ["Dockerfile", "pom.xml"]
    (context / "pom.xml").write_text(POM.format(version="2.19.2"), encoding="utf-8")
    assert role_hash(role, "offline", "b") != before


@pytest.mark.unit
def test_roles_without_a_pom_keep_the_hash_they_had(tmp_path: Path) -> None:
    context = _recipe(tmp_path)
    (context / "pom.xml").unlink()
    plain = Role(name="node", context=context)
    # the value role_hash gave before maven_pom existed, for this exact recipe and base
    digest = hashlib.sha256()
    for part in ("stormcheck-image-v1", "node", "offline", "Dockerfile", "b", ""):
        digest.update(part.encode() + b"\0")
    digest.update(b"Dockerfile\0-\0")
    digest.update(hashlib.sha256((context / "Dockerfile").read_bytes()).digest())
    assert role_hash(plain, "offline", "b") == digest.hexdigest()[:16]


@pytest.mark.integration
def test_maven_stages_the_poms_runtime_jars_once(tmp_path: Path) -> None:
    role = Role(name="node", context=_recipe(tmp_path / "recipe"), maven_pom="pom.xml")
    folder = maven_jars(role, tmp_path / "cache")
    assert sorted(p.name for p in folder.glob("*.jar")) == ["opensearch-secure-sm-2.19.1.jar"]
    marker = (folder / ".complete").stat().st_mtime_ns
    assert maven_jars(role, tmp_path / "cache") == folder
    assert (folder / ".complete").stat().st_mtime_ns == marker
