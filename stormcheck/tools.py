"""Tools the harness installs itself, each pinned and cached by version under the cache folder.

``<cache_dir>/tools/<name>-<version>/bin/`` holds a tool's binaries; a tool is installed once per
version and reused by every later run (and by CI, which shares the machine's cache). Each tool is
installed when the part that needs it runs, through its own registry: Go tools from the Go
module proxy (``go install``, or ``go build`` inside the downloaded module source for modules
whose go.mod has ``replace`` directives, which ``go install module@version`` refuses), Python tools into a virtualenv of their own from PyPI, from a
hash-pinned lock shipped in ``stormcheck/locks/`` (checkov pins boto3 exactly and its
``bc-python-hcl2`` overwrites python-hcl2's ``hcl2``: it must never share the project's venv),
npm tools into a folder of their own from the npm registry, checked against a pinned integrity.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from stormcheck.errors import ToolInstallError

__all__ = ["TOOLS", "Tool", "install_tool", "tool_path"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """A pinned tool: how to install it, and the binaries it provides (name → built package)."""

    name: str
    version: str
    kind: Literal["go", "go-source", "python", "npm"]
    binaries: dict[str, str]
    go_module: str = ""
    version_variable: str | None = None  # a Go variable set to the version at link time
    link_flags: str = ""  # more -ldflags, e.g. -X settings a release build makes
    npm_package: str = ""  # npm tools: the package, and the integrity its tarball must have
    npm_integrity: str = ""

    def folder(self, cache_dir: Path) -> Path:
        """Where this version lives in the cache."""
        return cache_dir / "tools" / f"{self.name}-{self.version}"


TOOLS: dict[str, Tool] = {
    "toxiproxy": Tool(
        name="toxiproxy",
        version="2.12.0",
        kind="go",
        go_module="github.com/Shopify/toxiproxy/v2",
        binaries={"toxiproxy-server": "cmd/server", "toxiproxy-cli": "cmd/cli"},
        version_variable="github.com/Shopify/toxiproxy/v2.Version",
    ),
    # Charts are rendered with an explicit --kube-version: a `go install` build lacks the ldflags
    # that set helm's default Kubernetes version to its client-go's.
    "helm": Tool(
        name="helm",
        version="3.22.0",
        kind="go",
        go_module="helm.sh/helm/v3",
        binaries={"helm": "cmd/helm"},
        version_variable="helm.sh/helm/v3/internal/version.version",
    ),
    "checkov": Tool(
        name="checkov", version="3.2.533", kind="python", binaries={"checkov": "checkov"}
    ),
    # OpenTofu's go.mod replaces hashicorp/hcl: built inside its module source. `dev=no` makes
    # `tofu version` print the release version, as the release build does.
    "tofu": Tool(
        name="tofu",
        version="1.10.10",
        kind="go-source",
        go_module="github.com/opentofu/opentofu",
        binaries={"tofu": "cmd/tofu"},
        link_flags="-X github.com/opentofu/opentofu/version.dev=no",
    ),
    # 0.50.3 is tflint's last MPL-2.0-only release: from 0.51 its binaries also fall under
    # BUSL 1.1 (code taken from Terraform). Only its built-in `terraform` ruleset is used.
    "tflint": Tool(
        name="tflint",
        version="0.50.3",
        kind="go-source",
        go_module="github.com/terraform-linters/tflint",
        binaries={"tflint": "."},
    ),
    # Allure 2 (Apache-2.0; a Java program, run on the Java 17 installed for OpenSearch).
    "allure": Tool(
        name="allure",
        version="2.46.1",
        kind="npm",
        npm_package="allure-commandline",
        npm_integrity="sha512-4HTxbXR9D2+cJV9z4MO/IUa7sfYiLLXBP3/4MWSqC63ey55wBMvXAk83yZYwJ2t+jKU1Z7QW6LgCUx0BhPy9EQ==",
        binaries={"allure": "node_modules/allure-commandline/dist/bin/allure"},
    ),
}
LOCKS_DIR = Path(__file__).parent / "locks"


def tool_path(name: str, binary: str, cache_dir: Path) -> Path | None:
    """The installed binary of a tool, or None when this version is not installed yet."""
    path = TOOLS[name].folder(cache_dir) / "bin" / binary
    return path if path.is_file() and os.access(path, os.X_OK) else None


def install_tool(name: str, cache_dir: Path, *, go_proxy: str | None = None) -> Path:
    """Install ``name`` at its pinned version unless cached; return its ``bin`` folder."""
    tool = TOOLS[name]
    folder = tool.folder(cache_dir)
    bin_dir = folder / "bin"
    if all(tool_path(name, b, cache_dir) for b in tool.binaries) and (
        tool.kind != "python" or (folder / ".complete").exists()
    ):
        return bin_dir
    if tool.kind == "python":
        return _install_python_tool(tool, folder)
    if tool.kind == "npm":
        return _install_npm_tool(tool, folder)
    if tool.kind == "go-source":
        return _build_go_source_tool(tool, folder, go_proxy)
    return _install_go_tool(tool, folder, go_proxy)


def _install_python_tool(tool: Tool, folder: Path) -> Path:
    """A virtualenv of the tool's own at its final path (venv scripts name it), from its lock."""
    lock = LOCKS_DIR / f"{tool.name}.txt"
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", str(folder)],
        [
            str(folder / "bin/python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--require-hashes",
            "-r",
            str(lock),
        ],
    ]
    for argv in steps:
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=1800)
        if result.returncode != 0:
            raise ToolInstallError(
                f"{tool.name} {tool.version}: {' '.join(argv[:4])} failed (exit {result.returncode});"
                f" is PyPI reachable?\n{result.stderr.strip()[-800:]}"
            )
    (folder / ".complete").touch()
    return folder / "bin"


def _install_npm_tool(tool: Tool, folder: Path) -> Path:
    """``npm install`` of the pinned package into a staging folder; its integrity must match."""
    npm = shutil.which("npm")
    if npm is None:
        raise ToolInstallError(
            f"{tool.name} {tool.version} is installed with npm, and no `npm` is on PATH"
        )
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "package.json").write_text(json.dumps({"private": True}) + "\n", encoding="utf-8")
    spec = f"{tool.npm_package}@{tool.version}"
    argv = [
        npm,
        "install",
        "--no-audit",
        "--no-fund",
        "--save-exact",
        "--prefix",
        str(staging),
        spec,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=1800)
    if result.returncode != 0:
        raise ToolInstallError(
            f"npm install {spec} failed (exit {result.returncode}); is the npm registry reachable?"
            f"\n{result.stderr.strip()[-800:]}"
        )
    lock = json.loads((staging / "package-lock.json").read_text(encoding="utf-8"))
    entry = lock.get("packages", {}).get(f"node_modules/{tool.npm_package}", {})
    if entry.get("version") != tool.version or entry.get("integrity") != tool.npm_integrity:
        raise ToolInstallError(
            f"npm install {spec}: got version {entry.get('version')!r} with integrity"
            f" {entry.get('integrity')!r}; expected {tool.version} with {tool.npm_integrity}"
        )
    (staging / "bin").mkdir()
    for binary, relative in tool.binaries.items():
        (staging / "bin" / binary).symlink_to(Path("..") / relative)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder / "bin"


def _go(tool: Tool) -> str:
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        raise ToolInstallError(
            f"{tool.name} {tool.version} is built with Go, and no `go` is on PATH"
        )
    return go


def _run_go(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run a go command; raise ToolInstallError with its stderr tail when it fails."""
    result = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=1800
    )
    if result.returncode != 0:
        raise ToolInstallError(
            f"{' '.join(argv[:3])} ... failed (exit {result.returncode}); is the Go module proxy"
            f" ({env.get('GOPROXY', 'go env GOPROXY')}) reachable?\n{result.stderr.strip()[-800:]}"
        )
    return result.stdout


def _build_go_source_tool(tool: Tool, folder: Path, go_proxy: str | None) -> Path:
    """Download the module source from the Go module proxy and ``go build`` inside a copy of it."""
    go = _go(tool)
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "bin").mkdir(parents=True)
    env = dict(os.environ, CGO_ENABLED="0")
    if go_proxy:
        env["GOPROXY"] = go_proxy
    module = f"{tool.go_module}@v{tool.version}"
    info = json.loads(_run_go([go, "mod", "download", "-json", module], env, cwd=staging))
    if not info.get("Dir"):
        raise ToolInstallError(f"go mod download {module}: {info.get('Error', 'no source folder')}")
    source = staging / "src"
    shutil.copytree(info["Dir"], source)  # the module cache is read-only
    for path in (source, *source.rglob("*")):
        path.chmod(path.stat().st_mode | 0o200)
    ldflags = f"-s -w {tool.link_flags}".strip()
    if tool.version_variable:
        ldflags += f" -X {tool.version_variable}={tool.version}"
    for binary, package in tool.binaries.items():
        out = staging / "bin" / binary
        _run_go([go, "build", "-trimpath", f"-ldflags={ldflags}", "-o", str(out), f"./{package}"],
                env, cwd=source)  # fmt: skip
    shutil.rmtree(source, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder / "bin"


def _install_go_tool(tool: Tool, folder: Path, go_proxy: str | None) -> Path:
    go = _go(tool)
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "bin").mkdir(parents=True)
    env = dict(os.environ, GOBIN=str(staging / "gobin"), CGO_ENABLED="0")
    if go_proxy:
        env["GOPROXY"] = go_proxy
    ldflags = "-s -w"
    if tool.version_variable:
        ldflags += f" -X {tool.version_variable}={tool.version}"
    for binary, package in tool.binaries.items():
        target = f"{tool.go_module}/{package}@v{tool.version}"
        result = subprocess.run(
            [go, "install", "-trimpath", f"-ldflags={ldflags}", target],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if result.returncode != 0:
            raise ToolInstallError(
                f"go install {target} failed (exit {result.returncode}); is the Go module proxy"
                f" ({env.get('GOPROXY', 'go env GOPROXY')}) reachable?\n{result.stderr.strip()[-800:]}"
            )
        built = staging / "gobin" / Path(package).name
        built.rename(staging / "bin" / binary)
    shutil.rmtree(staging / "gobin", ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder / "bin"
