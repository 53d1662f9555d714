################################################################################
# AWS Backup: a daily plan in the primary region, each recovery point copied to a vault
# in the DR region (docs/adr/0002). Replaces a scheduled Lambda that called CreateDBSnapshot.
################################################################################

data "aws_partition" "current" {}

resource "aws_backup_vault" "this" {
  name        = var.name
  kms_key_arn = var.kms_key_arn

  tags = var.tags
}

resource "aws_backup_vault" "copy" {
  provider = aws.copy

  name        = "${var.name}-copy"
  kms_key_arn = var.copy_kms_key_arn

  tags = var.tags
}

resource "aws_backup_plan" "this" {
  name = var.name

  rule {
    rule_name                = "daily"
    target_vault_name        = aws_backup_vault.this.name
    schedule                 = var.schedule
    start_window             = 60
    completion_window        = 360
    enable_continuous_backup = false

    lifecycle {
      delete_after = var.retention_days
    }

    copy_action {
      destination_vault_arn = aws_backup_vault.copy.arn
      lifecycle {
        delete_after = var.copy_retention_days
      }
    }

    recovery_point_tags = var.tags
  }

  dynamic "rule" {
    for_each = var.continuous_backup ? [1] : []
    content {
      rule_name                = "continuous"
      target_vault_name        = aws_backup_vault.this.name
      schedule                 = "cron(0 * * * ? *)"
      enable_continuous_backup = true

      lifecycle {
        delete_after = min(var.retention_days, 35)
      }

      recovery_point_tags = var.tags
    }
  }

  tags = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "backup" {
  name               = "${var.name}-backup"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "backup" {
  for_each = toset([
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
  ])

  role       = aws_iam_role.backup.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/${each.value}"
}

resource "aws_backup_selection" "this" {
  name         = var.name
  plan_id      = aws_backup_plan.this.id
  iam_role_arn = aws_iam_role.backup.arn
  resources    = var.resource_arns
}
