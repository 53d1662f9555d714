"""Deliberately broken copies of platform/terraform: each copies what it needs to a folder and
breaks one promise in one file, for the policy rules, tflint and checkov to catch."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from stormcheck.paths import project_root

__all__ = ["BROKEN", "ROOT", "Broken"]

ROOT = project_root() / "platform" / "terraform"


@dataclass(frozen=True, slots=True)
class Broken:
    """One breakage: ``file`` (relative to platform/terraform) with ``old`` replaced by ``new``
    (or deleted when ``delete``), and the policy rule that must report it."""

    name: str
    rule: str
    file: str
    old: str = ""
    new: str = ""
    delete: bool = False

    @property
    def folder(self) -> str:
        return str(Path(self.file).parent)

    def make(self, into: Path) -> Path:
        """Copy the broken file's folder under ``into`` (same relative path), break it, return the file."""
        shutil.copytree(ROOT / self.folder, into / self.folder)
        target = into / self.file
        if self.delete:
            target.unlink()
            return target
        text = target.read_text(encoding="utf-8")
        if text.count(self.old) != 1:
            raise AssertionError(
                f"{self.name}: {self.old!r} occurs {text.count(self.old)} times in {self.file}"
            )
        target.write_text(text.replace(self.old, self.new), encoding="utf-8")
        return target


PUBLIC_DATABASE_RULE = """
resource "aws_vpc_security_group_ingress_rule" "database_from_anywhere" {
  security_group_id = aws_security_group.this["database"].id
  description       = "PostgreSQL from anywhere"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432

  tags = var.tags
}
"""

BROKEN: tuple[Broken, ...] = (
    Broken(
        "unencrypted-rds",
        "encryption-at-rest",
        "modules/rds/main.tf",
        '  storage_type          = "gp3"\n  storage_encrypted     = true\n',
        '  storage_type          = "gp3"\n  storage_encrypted     = false\n',
    ),
    Broken(
        "public-database-security-group",
        "data-tier-ingress",
        "modules/security-groups/main.tf",
        "# Data tiers: their port, from the nodes only\n",
        "# Data tiers: their port, from the nodes only\n" + PUBLIC_DATABASE_RULE,
    ),
    Broken(
        "unpinned-provider",
        "pinned-versions",
        "modules/ecr/versions.tf",
        '      version = ">= 5.81.0, < 6.0.0"\n',
        "",
    ),
    Broken(
        "missing-backup-retention",
        "backup-retention",
        "modules/rds/main.tf",
        "  backup_retention_period   = var.backup_retention_days\n",
        "",
    ),
    Broken(
        "untyped-variable",
        "typed-variables",
        "modules/vpc/variables.tf",
        "  type        = list(string)\n",
        "",
    ),
    Broken(
        "single-az-rds",
        "rds-multi-az",
        "modules/rds/main.tf",
        "  multi_az               = true\n",
        "  multi_az               = false\n",
    ),
    Broken(
        "redis-without-failover",
        "elasticache-multi-az",
        "modules/elasticache/main.tf",
        "  automatic_failover_enabled = true\n",
        "  automatic_failover_enabled = false\n",
    ),
    Broken(
        "redis-7-4",
        "redis-licence",
        "modules/elasticache/variables.tf",
        '    version = "7.1"\n',
        '    version = "7.4"\n',
    ),
    Broken(
        "postgres-without-tls",
        "encryption-in-transit",
        "modules/rds/main.tf",
        '    name  = "rds.force_ssl"\n    value = "1"\n',
        '    name  = "rds.force_ssl"\n    value = "0"\n',
    ),
    Broken(
        "backup-copy-in-the-same-region",
        "cross-region-copy",
        "modules/backup/main.tf",
        "      destination_vault_arn = aws_backup_vault.copy.arn\n",
        "      destination_vault_arn = aws_backup_vault.this.arn\n",
    ),
    Broken(
        "backup-kept-one-day",
        "backup-retention",
        "modules/backup/main.tf",
        "      delete_after = var.retention_days\n",
        "      delete_after = 1\n",
    ),
    Broken(
        "production-database-deletable",
        "deletion-protection",
        "envs/production/main.tf",
        "    deletion_protection   = true\n",
        "    deletion_protection   = false\n",
    ),
    Broken(
        "untagged-kms-key",
        "required-tags",
        "modules/kms/main.tf",
        "  policy                  = data.aws_iam_policy_document.this.json\n\n  tags = var.tags\n",
        "  policy                  = data.aws_iam_policy_document.this.json\n",
    ),
    Broken("module-without-readme", "module-structure", "modules/waf/README.md", delete=True),
)
