"""Policy rules over platform/terraform, read with python-hcl2.

Each rule takes a :class:`Tree` (the parsed modules and environments under one root) and returns
:class:`Finding` s that name the file, the rule id and the resource. The rules check what the
platform promises and what a provider-free machine can still check: Multi-AZ data tiers,
encryption at rest and in transit, backup retention and a cross-region copy, deletion protection
in production, no open CIDR into a data tier, the required tags, pinned versions, typed and
described variables. tflint and checkov, run beside these rules, check the language and the
provider-level settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

__all__ = ["RULES", "Block", "Config", "Finding", "PolicyError", "Tree", "check", "load_tree"]

REQUIRED_TAGS = ("Project", "Environment", "Owner", "ManagedBy")
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
DATA_TIERS = ("database", "redis", "opensearch")
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
MIN_BACKUP_DAYS = 7
# Resource types the AWS provider gives no `tags` argument; every other resource must carry tags.
NOT_TAGGABLE = frozenset(
    {
        "aws_route",
        "aws_route_table_association",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_kms_alias",
        "aws_ecr_lifecycle_policy",
        "aws_eks_access_policy_association",
        "aws_backup_selection",
        "aws_cloudwatch_log_resource_policy",
        "aws_secretsmanager_secret_version",
        "aws_wafv2_web_acl_logging_configuration",
        "aws_route53_record",
        "aws_acm_certificate_validation",
        "random_password",
    }
)
_OPTIONS = SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)
_VAR = re.compile(r"^\$\{var\.([a-z0-9_]+)\}$")
_LOCAL = re.compile(r"^\$\{local\.([a-z0-9_]+)\}$")


class PolicyError(Exception):
    """A Terraform file that cannot be read; the message names the file."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One violation: which rule, in which file, on which block, and why."""

    rule: str
    file: Path
    address: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: [{self.rule}] {self.address}: {self.message}"


@dataclass(frozen=True, slots=True)
class Block:
    """A top-level block: kind (resource, data, module, variable, ...), labels and body."""

    file: Path
    kind: str
    labels: tuple[str, ...]
    body: dict[str, Any]

    @property
    def address(self) -> str:
        prefix = {"resource": "", "data": "data."}.get(self.kind, f"{self.kind}.")
        return prefix + ".".join(self.labels)


@dataclass(frozen=True, slots=True)
class Config:
    """One Terraform module or environment: the blocks of the .tf files of one folder."""

    folder: Path
    blocks: tuple[Block, ...]

    def of(self, kind: str, first_label: str | None = None) -> Iterator[Block]:
        for block in self.blocks:
            if block.kind == kind and (first_label is None or block.labels[0] == first_label):
                yield block

    def variable(self, name: str) -> Block | None:
        return next((b for b in self.of("variable") if b.labels[0] == name), None)

    def local(self, name: str) -> Any:
        for block in self.of("locals"):
            if name in block.body:
                return block.body[name]
        return None

    @property
    def is_env(self) -> bool:
        return self.folder.parent.name == "envs"


@dataclass(frozen=True, slots=True)
class Tree:
    """Every module and environment under a platform/terraform root (or a copy of part of it)."""

    root: Path
    configs: tuple[Config, ...]

    def get(self, relative: str) -> Config | None:
        return next((c for c in self.configs if c.folder == self.root / relative), None)


def _labelled(kind: str, value: Any, depth: int) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Unwrap hcl2's nesting of block labels ({label: {label: body}}) to (labels, body)."""
    if depth == 0:
        yield (), value
        return
    for item in value if isinstance(value, list) else [value]:
        for label, inner in item.items():
            for labels, body in _labelled(kind, inner, depth - 1):
                yield (label, *labels), body


_LABELS = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "provider": 1}


def load_config(folder: Path) -> Config:
    """Parse every .tf file of ``folder``; raise PolicyError naming a file that is not valid HCL."""
    blocks: list[Block] = []
    for path in sorted(folder.glob("*.tf")):
        try:
            with path.open(encoding="utf-8") as handle:
                document = hcl2.load(handle, serialization_options=_OPTIONS)
        except Exception as exc:  # hcl2 raises lark's many error types
            raise PolicyError(f"{path}: not valid HCL ({type(exc).__name__}: {exc})") from None
        for kind, entries in document.items():
            depth = _LABELS.get(kind, 0)
            for entry in entries if isinstance(entries, list) else [entries]:
                for labels, body in _labelled(kind, entry, depth):
                    blocks.append(Block(path, kind, labels, body if isinstance(body, dict) else {}))
    return Config(folder, tuple(blocks))


def load_tree(root: Path) -> Tree:
    """Every folder holding .tf files under ``root`` (modules/* and envs/*, or a copied module)."""
    folders = sorted({p.parent for p in root.rglob("*.tf") if ".terraform" not in p.parts})
    return Tree(root, tuple(load_config(folder) for folder in folders))


################################################################################
# Expression helpers: literals, var.x with its default and validation, local.x
################################################################################


def _is_true(value: Any) -> bool:
    return value is True


def _first(value: Any) -> dict[str, Any]:
    """A nested block's body (hcl2 gives a list of bodies)."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return value if isinstance(value, dict) else {}


def _var_lower_bound(config: Config, name: str) -> float | None:
    """The lower bound a variable's validation enforces (var.x >= N), if its default meets it."""
    variable = config.variable(name)
    if variable is None:
        return None
    bounds = [
        float(match.group(1))
        for validation in variable.body.get("validation", [])
        for match in re.finditer(
            rf"var\.{name}\s*>=\s*([0-9.]+)", str(validation.get("condition", ""))
        )
    ]
    if not bounds:
        return None
    default = variable.body.get("default")
    if isinstance(default, (int, float)) and default < max(bounds):
        return None
    return max(bounds)


def _minimum(config: Config, value: Any) -> float | None:
    """The least value an argument can take: a literal, or a variable's validated lower bound."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _VAR.match(str(value))
    return _var_lower_bound(config, match.group(1)) if match else None


def _resolve_local(config: Config, value: Any) -> Any:
    match = _LOCAL.match(str(value))
    return config.local(match.group(1)) if match else value


def _finding(rule: str, block: Block, message: str) -> Finding:
    return Finding(rule, block.file, block.address, message)


################################################################################
# Rules
################################################################################


def rds_multi_az(tree: Tree) -> list[Finding]:
    """Every RDS primary (not a replica) is Multi-AZ and never publicly accessible."""
    found = []
    for config in tree.configs:
        for db in config.of("resource", "aws_db_instance"):
            if "replicate_source_db" not in db.body and not _is_true(db.body.get("multi_az")):
                found.append(_finding("rds-multi-az", db, "multi_az must be true"))
            if db.body.get("publicly_accessible") is not False:
                found.append(_finding("rds-multi-az", db, "publicly_accessible must be false"))
    return found


def elasticache_multi_az(tree: Tree) -> list[Finding]:
    """Every replication group fails over automatically across zones, and has a replica to fail to."""
    found = []
    for config in tree.configs:
        for group in config.of("resource", "aws_elasticache_replication_group"):
            for key in ("automatic_failover_enabled", "multi_az_enabled"):
                if not _is_true(group.body.get(key)):
                    found.append(_finding("elasticache-multi-az", group, f"{key} must be true"))
            if "num_node_groups" in group.body:
                found.append(
                    _finding(
                        "elasticache-multi-az",
                        group,
                        "cluster mode (num_node_groups) is not used: clients keep one primary endpoint",
                    )
                )
    return found


def redis_licence(tree: Tree) -> list[Finding]:
    """The cache engine is Redis OSS <= 7.2 (BSD) or Valkey, taken from the validated var.engine."""
    found = []
    for config in tree.configs:
        for group in config.of("resource", "aws_elasticache_replication_group"):
            engine = config.variable("engine")
            if engine is None or group.body.get("engine_version") != "${var.engine.version}":
                found.append(
                    _finding(
                        "redis-licence",
                        group,
                        "engine_version must come from the validated var.engine",
                    )
                )
                continue
            default = engine.body.get("default")
            name = default.get("name") if isinstance(default, dict) else None
            version = str(default.get("version")) if isinstance(default, dict) else ""
            if not ((name == "redis" and re.fullmatch(r"7\.[0-2]", version)) or name == "valkey"):
                found.append(
                    _finding(
                        "redis-licence",
                        engine,
                        f"default engine {name} {version}: must be redis 7.0-7.2 or valkey",
                    )
                )
    return found


# resource type -> (argument path, what it must be) for encryption at rest
_AT_REST: dict[str, tuple[tuple[str, ...], ...]] = {
    "aws_db_instance": (("storage_encrypted",), ("kms_key_id",)),
    "aws_elasticache_replication_group": (("at_rest_encryption_enabled",), ("kms_key_id",)),
    "aws_opensearch_domain": (("encrypt_at_rest", "enabled"), ("encrypt_at_rest", "kms_key_id")),
    "aws_cloudwatch_log_group": (("kms_key_id",),),
    "aws_secretsmanager_secret": (("kms_key_id",),),
    "aws_backup_vault": (("kms_key_arn",),),
    "aws_ecr_repository": (("encryption_configuration", "kms_key"),),
    "aws_eks_cluster": (("encryption_config", "provider", "key_arn"),),
    "aws_launch_template": (("block_device_mappings", "ebs", "encrypted"),),
}

_IN_TRANSIT: dict[str, tuple[tuple[str, ...], ...]] = {
    "aws_elasticache_replication_group": (("transit_encryption_enabled",),),
    "aws_opensearch_domain": (
        ("node_to_node_encryption", "enabled"),
        ("domain_endpoint_options", "enforce_https"),
    ),
}


def _dig(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body
    for key in path:
        value = _first(value).get(key) if isinstance(value, (dict, list)) else None
    return value


def _required(
    rule: str, table: dict[str, tuple[tuple[str, ...], ...]], tree: Tree
) -> list[Finding]:
    found = []
    for config in tree.configs:
        for resource_type, paths in table.items():
            for block in config.of("resource", resource_type):
                for path in paths:
                    value = _dig(block.body, path)
                    if value is None or value is False or value == "":
                        found.append(
                            _finding(rule, block, f"{'.'.join(path)} must be set (true or a key)")
                        )
    return found


def encryption_at_rest(tree: Tree) -> list[Finding]:
    """Data stores, logs, secrets, images, backups and node disks are encrypted with a KMS key."""
    return _required("encryption-at-rest", _AT_REST, tree)


def encryption_in_transit(tree: Tree) -> list[Finding]:
    """TLS everywhere: Redis, OpenSearch, and PostgreSQL through rds.force_ssl in its parameter group."""
    found = _required("encryption-in-transit", _IN_TRANSIT, tree)
    for config in tree.configs:
        for db in config.of("resource", "aws_db_instance"):
            group_ref = str(db.body.get("parameter_group_name", ""))
            groups = [
                g
                for g in config.of("resource", "aws_db_parameter_group")
                if f"aws_db_parameter_group.{g.labels[1]}." in group_ref
            ]
            forced = any(
                p.get("name") == "rds.force_ssl" and str(p.get("value")) == "1"
                for g in groups
                for p in g.body.get("parameter", [])
            )
            if not forced:
                found.append(
                    _finding(
                        "encryption-in-transit",
                        db,
                        "its parameter group must set rds.force_ssl = 1",
                    )
                )
    return found


def backup_retention(tree: Tree) -> list[Finding]:
    """RDS primaries, Redis snapshots and AWS Backup rules keep at least 7 days."""
    found = []
    checks = (
        ("aws_db_instance", "backup_retention_period"),
        ("aws_elasticache_replication_group", "snapshot_retention_limit"),
    )
    for config in tree.configs:
        for resource_type, argument in checks:
            for block in config.of("resource", resource_type):
                if "replicate_source_db" in block.body:
                    continue
                least = _minimum(config, block.body.get(argument))
                if least is None or least < MIN_BACKUP_DAYS:
                    found.append(
                        _finding(
                            "backup-retention",
                            block,
                            f"{argument} must be >= {MIN_BACKUP_DAYS} (a literal, or a variable whose"
                            f" validation enforces it); got {block.body.get(argument)!r}",
                        )
                    )
        for plan in config.of("resource", "aws_backup_plan"):
            rules = list(plan.body.get("rule", []))
            rules += [_first(d.get("content")) for d in _dynamic(plan.body, "rule")]
            lifecycles: list[tuple[dict[str, Any], tuple[str, ...]]]
            lifecycles = [(r, ("lifecycle", "delete_after")) for r in rules]
            lifecycles += [
                (r, ("copy_action", "lifecycle", "delete_after"))
                for r in rules
                if "copy_action" in r
            ]
            for rule, path in lifecycles:
                delete_after = _dig(rule, path)
                least = _minimum(config, delete_after)
                if least is None and isinstance(delete_after, str) and "min(" in delete_after:
                    match = re.search(r"var\.([a-z0-9_]+)", delete_after)
                    least = _var_lower_bound(config, match.group(1)) if match else None
                if least is None or least < MIN_BACKUP_DAYS:
                    found.append(
                        _finding(
                            "backup-retention",
                            plan,
                            f"rule {rule.get('rule_name')!r}: {'.'.join(path)} must be >= {MIN_BACKUP_DAYS}",
                        )
                    )
    return found


def _dynamic(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [
        inner
        for entry in body.get("dynamic", [])
        for label, inner in entry.items()
        if label == name and isinstance(inner, dict)
    ]


def cross_region_copy(tree: Tree) -> list[Finding]:
    """Each scheduled backup rule copies to a vault made through another provider (the copy region),
    and every environment's copy provider is in another region than its default one."""
    found = []
    for config in tree.configs:
        vaults = {
            b.labels[1]: b.body.get("provider") for b in config.of("resource", "aws_backup_vault")
        }
        for plan in config.of("resource", "aws_backup_plan"):
            for rule in plan.body.get("rule", []):
                if _is_true(rule.get("enable_continuous_backup")):
                    continue
                target = str(_dig(rule, ("copy_action", "destination_vault_arn")) or "")
                match = re.search(r"aws_backup_vault\.([a-z0-9_]+)\.arn", target)
                provider = vaults.get(match.group(1)) if match else None
                if not provider or not str(provider).startswith("${aws."):
                    found.append(
                        _finding(
                            "cross-region-copy",
                            plan,
                            f"rule {rule.get('rule_name')!r} must copy_action to a vault of the copy-region provider",
                        )
                    )
        if config.is_env:
            regions = {
                str(p.body.get("alias", "")): _resolve_local(config, p.body.get("region"))
                for p in config.of("provider", "aws")
            }
            if "copy" not in regions or regions.get("copy") == regions.get(""):
                block = next(config.of("provider", "aws"), None) or config.blocks[0]
                found.append(
                    _finding(
                        "cross-region-copy",
                        block,
                        f"needs an aws provider alias copy in another region than the default; got {regions}",
                    )
                )
    return found


def deletion_protection(tree: Tree) -> list[Finding]:
    """Databases take deletion protection from their caller, and production and dr pass true."""
    found = []
    for config in tree.configs:
        for db in config.of("resource", "aws_db_instance"):
            if db.body.get("deletion_protection") not in (True, "${var.deletion_protection}"):
                found.append(
                    _finding(
                        "deletion-protection",
                        db,
                        "deletion_protection must be true or var.deletion_protection",
                    )
                )
        if config.is_env and config.folder.name in ("production", "dr"):
            for module in config.of("module"):
                passed = module.body.get("db")
                if isinstance(passed, dict) and passed.get("deletion_protection") is not True:
                    found.append(
                        _finding(
                            "deletion-protection",
                            module,
                            f"{config.folder.name} must pass db.deletion_protection = true",
                        )
                    )
    return found


def _data_tier_group(reference: str) -> str | None:
    for tier in DATA_TIERS:
        if f'["{tier}"]' in reference or f"aws_security_group.{tier}." in reference:
            return tier
    return None


def data_tier_ingress(tree: Tree) -> list[Finding]:
    """No rule opens a data tier (database, redis, opensearch) to 0.0.0.0/0 or ::/0."""
    found = []
    rule_types = ("aws_vpc_security_group_ingress_rule", "aws_security_group_rule")
    for config in tree.configs:
        for rule_type in rule_types:
            for rule in config.of("resource", rule_type):
                if rule_type == "aws_security_group_rule" and rule.body.get("type") != "ingress":
                    continue
                tier = _data_tier_group(str(rule.body.get("security_group_id", "")))
                cidrs = [
                    rule.body.get("cidr_ipv4"),
                    rule.body.get("cidr_ipv6"),
                    *(rule.body.get("cidr_blocks") or []),
                    *(rule.body.get("ipv6_cidr_blocks") or []),
                ]
                if tier and any(c in OPEN_CIDRS for c in cidrs):
                    found.append(
                        _finding("data-tier-ingress", rule, f"opens the {tier} tier to {cidrs}")
                    )
        for group in config.of("resource", "aws_security_group"):
            for ingress in group.body.get("ingress", []):
                if any(c in OPEN_CIDRS for c in ingress.get("cidr_blocks", [])):
                    found.append(
                        _finding("data-tier-ingress", group, "inline ingress from an open CIDR")
                    )
    return found


def required_tags(tree: Tree) -> list[Finding]:
    """Every taggable resource carries var.tags; environments define the required tags."""
    found = []
    for config in tree.configs:
        for resource in config.of("resource"):
            if resource.labels[0] in NOT_TAGGABLE:
                continue
            tags = str(resource.body.get("tags", ""))
            if "var.tags" not in tags:
                found.append(_finding("required-tags", resource, "tags must include var.tags"))
        if config.is_env:
            tags = config.local("tags")
            missing = [k for k in REQUIRED_TAGS if not isinstance(tags, dict) or k not in tags]
            if missing:
                block = next(config.of("locals"), None) or config.blocks[0]
                found.append(_finding("required-tags", block, f"local.tags lacks {missing}"))
            for provider in config.of("provider", "aws"):
                if _dig(provider.body, ("default_tags", "tags")) != "${local.tags}":
                    found.append(
                        _finding("required-tags", provider, "default_tags must be local.tags")
                    )
    return found


def pinned_versions(tree: Tree) -> list[Finding]:
    """required_version and every provider's source and version: a bounded range in a module,
    a pessimistic (~>) or exact pin in an environment."""
    found = []
    for config in tree.configs:
        terraform = list(config.of("terraform"))
        if not terraform:
            found.append(
                Finding(
                    "pinned-versions",
                    config.folder / "versions.tf",
                    "terraform",
                    "no terraform block",
                )
            )
            continue
        for block in terraform:
            if not block.body.get("required_version"):
                found.append(_finding("pinned-versions", block, "required_version is not set"))
            providers = _first(block.body.get("required_providers"))
            for name, given in providers.items():
                spec = given if isinstance(given, dict) else {}
                version = str(spec.get("version", ""))
                bounded = (
                    "~>" in version
                    or "<" in version
                    or bool(re.fullmatch(r"=?\s*[0-9.]+", version))
                )
                if config.is_env:
                    bounded = version.startswith(("~>", "=")) or bool(
                        re.fullmatch(r"[0-9.]+", version)
                    )
                if not spec.get("source") or not version or not bounded:
                    found.append(
                        _finding(
                            "pinned-versions",
                            block,
                            f"provider {name!r} needs a source and a bounded version; got {spec}",
                        )
                    )
        for module in config.of("module"):
            source = str(module.body.get("source", ""))
            if not source.startswith(("./", "../")) and not module.body.get("version"):
                found.append(_finding("pinned-versions", module, f"{source} has no version"))
    return found


def typed_variables(tree: Tree) -> list[Finding]:
    """Every variable has a type and a description."""
    found = []
    for config in tree.configs:
        for variable in config.of("variable"):
            for key in ("type", "description"):
                if not str(variable.body.get(key, "")).strip():
                    found.append(_finding("typed-variables", variable, f"{key} is missing"))
    return found


def module_structure(tree: Tree) -> list[Finding]:
    """Modules have the standard files and their main resource is named `this`."""
    found = []
    for config in tree.configs:
        if config.is_env:
            continue
        for name in MODULE_FILES:
            if not (config.folder / name).is_file():
                found.append(Finding("module-structure", config.folder / name, "module", "missing"))
        resources = list(config.of("resource"))
        if resources and not any(r.labels[1] == "this" for r in resources):
            found.append(
                Finding(
                    "module-structure",
                    config.folder / "main.tf",
                    "module",
                    "the main resource must be named `this`",
                )
            )
    return found


RULES: dict[str, Callable[[Tree], list[Finding]]] = {
    "rds-multi-az": rds_multi_az,
    "elasticache-multi-az": elasticache_multi_az,
    "redis-licence": redis_licence,
    "encryption-at-rest": encryption_at_rest,
    "encryption-in-transit": encryption_in_transit,
    "backup-retention": backup_retention,
    "cross-region-copy": cross_region_copy,
    "deletion-protection": deletion_protection,
    "data-tier-ingress": data_tier_ingress,
    "required-tags": required_tags,
    "pinned-versions": pinned_versions,
    "typed-variables": typed_variables,
    "module-structure": module_structure,
}


def check(tree: Tree) -> list[Finding]:
    """Every rule's findings over ``tree``."""
    return [finding for rule in RULES.values() for finding in rule(tree)]
