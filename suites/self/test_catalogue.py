"""The image catalogue: the real one is valid, and a broken one says where and what."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError
from stormcheck.local.catalogue import read_catalogue
from stormcheck.local.images import debian_mirror
from stormcheck.paths import catalogue_path, project_root

BASE = '[base]\nsuite = "bookworm"\nvariant = "minbase"\ncomponents = ["main"]\nregistry_image = "debian:bookworm-20241111"\n'


@pytest.mark.static
def test_the_catalogue_loads_and_every_recipe_takes_its_base_as_an_argument() -> None:
    catalogue = read_catalogue(catalogue_path(), project_root())
    assert {"postgres", "redis", "prometheus"} <= set(catalogue.roles)
    for role in catalogue.roles.values():
        text = (role.context / role.dockerfile).read_text(encoding="utf-8")
        instructions = [
            line for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
        assert instructions[0].strip() == "ARG BASE", role.name
        assert re.fullmatch(r"FROM \$\{?BASE\}?( AS \w+)?", instructions[1].strip()), role.name


@pytest.mark.static
def test_official_images_and_bases_are_pinned_never_latest() -> None:
    catalogue = read_catalogue(catalogue_path(), project_root())
    refs = [catalogue.base.registry_image] + [
        r for role in catalogue.roles.values() for r in (role.official, role.registry_base) if r
    ]
    for ref in refs:
        assert ":" in ref and not ref.endswith((":latest", ":bookworm")), ref


@pytest.mark.unit
def test_missing_field_names_file_and_table(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(BASE + '[roles.db]\ndockerfile = "Dockerfile"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"catalogue.toml \[roles.db\]: missing field 'context'"):
        read_catalogue(path, tmp_path)


@pytest.mark.unit
def test_unknown_field_and_missing_dockerfile_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    (tmp_path / "db").mkdir()
    path.write_text(BASE + '[roles.db]\ncontext = "db"\nimage = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[roles.db\]: unknown field\(s\) image"):
        read_catalogue(path, tmp_path)
    path.write_text(BASE + '[roles.db]\ncontext = "db"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[roles.db\]: no Dockerfile in"):
        read_catalogue(path, tmp_path)


@pytest.mark.unit
def test_wrong_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(BASE.replace('variant = "minbase"', "variant = 3"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[base\]: field 'variant' must be a str, got 3"):
        read_catalogue(path, tmp_path)


@pytest.mark.unit
def test_debian_mirror_is_read_from_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    assert debian_mirror("http://mirror.example/debian", tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://deb.example.org/debian/\nSuites: bookworm\n", encoding="utf-8"
    )
    assert debian_mirror(None, tmp_path) == "http://deb.example.org/debian"
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64] http://one-line.example/debian bookworm main\n", encoding="utf-8"
    )
    assert debian_mirror(None, tmp_path) == "http://one-line.example/debian"
