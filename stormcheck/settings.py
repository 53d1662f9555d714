"""Typed, frozen settings, read once.

Precedence, lowest first: code defaults < profile file < ``STORMCHECK_*`` environment < command-line
options. The profile (``local``, ``kubernetes``, ``aws``) picks the profile file:
``stormcheck/profiles/<profile>.toml``, or the file named by ``--profile-file`` /
``STORMCHECK_PROFILE_FILE``. A wrong value raises :class:`ConfigError` naming the key, where the
value came from and what was expected; a profile file's problems are located, one line each
(``file:line: key: message``, :mod:`stormcheck.inputs`). Profile files never hold secrets: clients
resolve credentials from the kube context, the AWS profile or the environment.

Secrets the harness itself needs are *referenced*, never written: a ``[secrets]`` table in the
profile file (``shop_token = "env:SHOP_TOKEN"`` or ``"file:secrets/shop-token"``, a relative path
from the profile file's folder), or ``STORMCHECK_SECRET_<NAME>=env:VAR|file:PATH`` in the
environment. Each is resolved once, here, and registered with :mod:`stormcheck.redaction`, so no
writer of the harness puts its value in clear into a file; :attr:`Settings.secrets` holds
:class:`~stormcheck.redaction.Secret` values, which print as their reference.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

from stormcheck.errors import ConfigError
from stormcheck.inputs import InputError, Problem, read_toml
from stormcheck.redaction import MIN_SECRET_LENGTH, Secret, register

__all__ = [
    "IMAGE_MODES",
    "PROFILES",
    "PROFILES_DIR",
    "STACKS",
    "TERRAFORM_OUTPUT_SETTINGS",
    "ImageMode",
    "Profile",
    "Settings",
    "Stack",
    "describe_settings",
    "load_settings",
    "validate_profile_file",
]

Profile = Literal["local", "kubernetes", "aws"]
Stack = Literal["minimal", "full"]
ImageMode = Literal["auto", "registry", "offline"]
PROFILES: tuple[str, ...] = get_args(Profile)
STACKS: tuple[str, ...] = get_args(Stack)
IMAGE_MODES: tuple[str, ...] = get_args(ImageMode)
PROFILES_DIR = Path(__file__).parent / "profiles"
ENV_PREFIX = "STORMCHECK_"


def _default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stormcheck"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the engine needs to know about where it runs and what it targets."""

    profile: Profile = "local"
    stack: Stack = field(default="minimal", metadata={"help": "local stack size"})
    image_mode: ImageMode = field(default="auto", metadata={"help": "where images come from"})
    runs_dir: Path = field(default=Path("reports/runs"), metadata={"help": "run folders"})
    cache_dir: Path = field(
        default_factory=_default_cache_dir, metadata={"help": "tools and build cache"}
    )
    ready_timeout_s: float = field(default=120.0, metadata={"help": "readiness timeout"})
    prometheus_url: str | None = field(default=None, metadata={"help": "else from the run"})
    alertmanager_url: str | None = field(default=None, metadata={"help": "else from the run"})
    logstore_url: str | None = field(default=None, metadata={"help": "else from the run"})
    debian_mirror: str | None = field(default=None, metadata={"help": "else apt's own"})
    go_proxy: str | None = field(default=None, metadata={"help": "else `go env GOPROXY`"})
    maven_repo: str = "https://repo.maven.apache.org/maven2"
    pypi_index: str = "https://pypi.org/simple"
    container_registry: str = "https://registry-1.docker.io"
    kube_context: str | None = None
    kube_namespace: str = "stormcheck"
    aws_region: str = "eu-west-1"
    aws_profile: str | None = None
    terraform_env: str = "staging"
    allow_inconclusive: bool = False
    # secrets referenced by the profile file or STORMCHECK_SECRET_<NAME> (values never printed)
    secrets: tuple[Secret, ...] = ()

    def secret(self, name: str) -> str:
        """The value of the secret ``name``; :class:`ConfigError` when none is configured."""
        for item in self.secrets:
            if item.name == name:
                return item.reveal()
        raise ConfigError(
            f"secret {name!r} is not configured: set it in the profile file's [secrets] table or"
            f" STORMCHECK_SECRET_{name.upper()} (env:VAR or file:PATH)"
        )

    # aws profile: what an environment of platform/terraform provisioned, from
    # `tofu output -json stormcheck_settings` (with aws_region, kube_context and logstore_url)
    aws_eks_cluster_name: str | None = None
    aws_rds_instance_id: str | None = None
    aws_rds_endpoint: str | None = None
    aws_rds_reader_endpoint: str | None = None
    aws_redis_replication_group_id: str | None = None
    aws_redis_endpoint: str | None = None
    aws_node_security_group_id: str | None = None
    aws_database_security_group_id: str | None = None
    aws_redis_security_group_id: str | None = None
    aws_certificate_arn: str | None = None
    aws_web_acl_arn: str | None = None
    # blast radius (stormcheck/chaos/policy.py): target ids are local:<run id>,
    # kube:<context>, aws:<account>/<region>; patterns as in fnmatch
    allowed_targets: tuple[str, ...] = field(
        default=("local:*",), metadata={"help": "targets faults may touch"}
    )
    production_targets: tuple[str, ...] = field(
        default=(), metadata={"help": "targets that are production"}
    )
    max_blast_share: float = field(
        default=1.0, metadata={"help": "largest share of a role's members or zones hit"}
    )
    allow_production: bool = field(
        default=False, metadata={"help": "consent to faults on a production target"}
    )


# What each field accepts: (parser from a string or TOML value, what was expected).
_Parser = Callable[[Any], Any]


def _choice(options: tuple[str, ...]) -> tuple[_Parser, str]:
    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError
        return str(value)

    return parse, "one of " + ", ".join(options)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    return value.strip()


def _optional_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _text(value)


def _url(value: Any) -> str | None:
    text = _optional_text(value)
    if text is not None and not text.startswith(("http://", "https://")):
        raise ValueError
    return text.rstrip("/") if text else None


def _path(value: Any) -> Path:
    return Path(_text(value)).expanduser()


def _positive_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError
    return number


def _pattern(pattern: str) -> _Parser:
    def parse(value: Any) -> str | None:
        text = _optional_text(value)
        if text is not None and not re.fullmatch(pattern, text):
            raise ValueError
        return text

    return parse


def _patterns(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise ValueError
    if any(c.isspace() for v in items for c in v):
        raise ValueError
    return tuple(v for v in items if v)


def _share(value: Any) -> float:
    number = _positive_float(value)
    if number > 1:
        raise ValueError
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError


_PARSERS: dict[str, tuple[_Parser, str]] = {
    "profile": _choice(PROFILES),
    "stack": _choice(STACKS),
    "image_mode": _choice(IMAGE_MODES),
    "runs_dir": (_path, "a directory path"),
    "cache_dir": (_path, "a directory path"),
    "ready_timeout_s": (_positive_float, "a number of seconds > 0"),
    "prometheus_url": (_url, "an http(s):// URL"),
    "alertmanager_url": (_url, "an http(s):// URL"),
    "logstore_url": (_url, "an http(s):// URL"),
    "debian_mirror": (_url, "an http(s):// URL"),
    "go_proxy": (_optional_text, "a GOPROXY value"),
    "maven_repo": (_url, "an http(s):// URL"),
    "pypi_index": (_url, "an http(s):// URL"),
    "container_registry": (_url, "an http(s):// URL"),
    "kube_context": (_optional_text, "a kube context name"),
    "kube_namespace": (_text, "a namespace name"),
    "aws_region": (_text, "an AWS region name"),
    "aws_profile": (_optional_text, "an AWS profile name"),
    "terraform_env": (_choice(("staging", "production", "dr"))),
    "allow_inconclusive": (_bool, "true or false"),
    "aws_eks_cluster_name": (_pattern(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}"), "an EKS cluster name"),
    "aws_rds_instance_id": (_pattern(r"[a-z][a-z0-9-]{0,62}"), "an RDS instance identifier"),
    "aws_rds_endpoint": (_pattern(r"[a-z0-9.-]+:[0-9]{1,5}"), "host:port"),
    "aws_rds_reader_endpoint": (_pattern(r"[a-z0-9.-]+:[0-9]{1,5}"), "host:port"),
    "aws_redis_replication_group_id": (_pattern(r"[a-z][a-z0-9-]{0,39}"), "a replication group id"),
    "aws_redis_endpoint": (_pattern(r"[a-z0-9.-]+:[0-9]{1,5}"), "host:port"),
    "aws_node_security_group_id": (_pattern(r"sg-[0-9a-f]{8,17}"), "a security group id (sg-...)"),
    "aws_database_security_group_id": (
        _pattern(r"sg-[0-9a-f]{8,17}"),
        "a security group id (sg-...)",
    ),
    "aws_redis_security_group_id": (_pattern(r"sg-[0-9a-f]{8,17}"), "a security group id (sg-...)"),
    "aws_certificate_arn": (
        _pattern(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+"),
        "an ACM certificate ARN",
    ),
    "aws_web_acl_arn": (
        _pattern(r"arn:aws[a-z-]*:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/.+"),
        "a regional WAFv2 web ACL ARN",
    ),
    "allowed_targets": (_patterns, "target patterns (local:*, kube:NAME, aws:ACCOUNT/REGION)"),
    "production_targets": (_patterns, "target patterns (local:*, kube:NAME, aws:ACCOUNT/REGION)"),
    "max_blast_share": (_share, "a share in (0, 1]"),
    "allow_production": (_bool, "true or false"),
}
# The settings an environment's `stormcheck_settings` output feeds, by name (platform/terraform/modules/platform).
TERRAFORM_OUTPUT_SETTINGS: tuple[str, ...] = (
    "aws_region",
    "kube_context",
    "logstore_url",
    *(
        name
        for name in _PARSERS
        if name.startswith("aws_") and name not in ("aws_region", "aws_profile")
    ),
)


def _parse(key: str, value: Any, source: str) -> Any:
    parser, expected = _PARSERS[key]
    try:
        return parser(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} from {source}: expected {expected}, got {value!r}") from None


_SECRET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_ENV_PREFIX = f"{ENV_PREFIX}SECRET_"


def _resolve_secret(name: str, reference: Any, env: Mapping[str, str], base: Path) -> Secret:
    """The secret ``reference`` names; ``ValueError`` saying why not (never showing a value)."""
    if not _SECRET_NAME.match(name):
        raise ValueError("a secret's name is lower-case letters, digits and '_'")
    kind, _, where = reference.partition(":") if isinstance(reference, str) else ("", "", "")
    if kind == "env" and _ENV_NAME.match(where):
        if where not in env:
            raise ValueError(f"environment variable {where} is not set")
        value = env[where]
    elif kind == "file" and where.strip():
        path = base / Path(where).expanduser()
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ValueError(f"cannot read {path}: {reason}") from None
    else:
        raise ValueError(
            "expected a reference, env:VARIABLE or file:PATH (a secret's value is never written"
            " in settings)"
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"{kind}:{where} holds fewer than {MIN_SECRET_LENGTH} characters, too short to redact"
        )
    return Secret(name=name, reference=f"{kind}:{where}", value=value)


def _read_profile_file(
    path: Path, name: str, source: str, env: Mapping[str, str]
) -> tuple[dict[str, Any], list[Secret]]:
    """The parsed values and resolved secrets of a profile file; :class:`InputError` (located)."""
    toml = read_toml(path, what="a profile file")
    known = {f.name for f in fields(Settings)} - {"secrets"}
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    secrets: list[Secret] = []

    def problem(key: str, message: str) -> None:
        problems.append(Problem(file=path, line=toml.line(key), field=key, message=message))

    for key, value in toml.values.items():
        if key == "secrets":
            if not isinstance(value, dict):
                problem(key, 'expected a table of name = "env:VAR" or "file:PATH"')
                continue
            for secret_name, reference in value.items():
                try:
                    secrets.append(_resolve_secret(secret_name, reference, env, path.parent))
                except ValueError as exc:
                    problems.append(
                        Problem(
                            file=path,
                            line=_table_line(path, secret_name, toml.line(key)),
                            field=f"secrets.{secret_name}",
                            message=str(exc),
                        )
                    )
        elif key not in known:
            problem(key, f"unknown key; expected one of {', '.join(sorted(known | {'secrets'}))}")
        else:
            try:
                values[key] = _PARSERS[key][0](value)
            except (TypeError, ValueError):
                problem(key, f"expected {_PARSERS[key][1]}, got {value!r}")
                continue
            if key == "profile" and value != name:
                problem(key, f"profile = {value!r} but the chosen profile is {name!r} ({source})")
    if problems:
        raise InputError(problems, what=f"profile file {path}")
    return values, secrets


def _table_line(path: Path, key: str, table_line: int | None) -> int | None:
    """The line of ``key = ...`` after the table header at ``table_line``."""
    if table_line is None:
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
    for number in range(table_line, len(lines)):
        if lines[number].lstrip().startswith("["):
            break
        if pattern.match(lines[number]):
            return number + 1
    return table_line


def load_settings(
    profile: str | None = None,
    *,
    overrides: Mapping[str, str] | None = None,
    profile_file: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from defaults, the profile file, the environment and CLI ``overrides``.

    ``profile`` and ``overrides`` come from the command line and win over everything else.
    Raises :class:`ConfigError` naming the key, its source and the expected form.
    """
    env = os.environ if env is None else env
    overrides = dict(overrides or {})
    if profile is not None:
        chosen, source = profile, "command line --profile"
    elif "profile" in overrides:
        chosen, source = overrides["profile"], "command line --set profile"
    elif f"{ENV_PREFIX}PROFILE" in env:
        chosen, source = env[f"{ENV_PREFIX}PROFILE"], f"environment {ENV_PREFIX}PROFILE"
    else:
        chosen, source = "local", "code default"
    name = _parse("profile", chosen, source)

    file_name = profile_file or (
        Path(env[f"{ENV_PREFIX}PROFILE_FILE"]) if env.get(f"{ENV_PREFIX}PROFILE_FILE") else None
    )
    path = file_name or PROFILES_DIR / f"{name}.toml"
    values, secrets = _read_profile_file(path, name, source, env)
    by_name = {s.name: s for s in secrets}
    for var in sorted(env):
        if var.startswith(SECRET_ENV_PREFIX):
            secret_name = var.removeprefix(SECRET_ENV_PREFIX).lower()
            try:
                by_name[secret_name] = _resolve_secret(secret_name, env[var], env, Path.cwd())
            except ValueError as exc:
                raise ConfigError(f"environment {var}: {exc}") from None

    for f in fields(Settings):
        var = f"{ENV_PREFIX}{f.name.upper()}"
        if var in env and f.name not in ("profile", "secrets"):
            values[f.name] = _parse(f.name, env[var], f"environment {var}")

    known = {f.name for f in fields(Settings)}
    for key, value in overrides.items():
        if key not in known or key == "secrets":
            raise ConfigError(
                f"command line --set {key}: unknown setting; expected one of {', '.join(sorted(known))}"
            )
        if key != "profile":
            values[key] = _parse(key, value, f"command line --set {key}")
    values["profile"] = name
    values.setdefault("cache_dir", _default_cache_dir(env))
    for secret in by_name.values():
        register(secret.reveal())
    return Settings(**values, secrets=tuple(sorted(by_name.values(), key=lambda s: s.name)))


def validate_profile_file(path: Path, *, env: Mapping[str, str] | None = None) -> None:
    """Check a profile file on its own (its own ``profile``, else local), secrets resolved from
    ``env``; :class:`~stormcheck.inputs.InputError` with one located line per problem."""
    env = os.environ if env is None else env
    declared = read_toml(path, what="a profile file").values.get("profile")
    name = declared if declared in PROFILES else "local"
    _read_profile_file(path, str(name), f"the file's own profile = {name!r}", env)


def describe_settings(settings: Settings) -> dict[str, str]:
    """The settings as printable strings (for `doctor`, reports and the Allure environment)."""
    return {
        f.name: "" if (v := getattr(settings, f.name)) is None else _printable(v)
        for f in fields(settings)
    }


def _printable(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
