variable "name" {
  description = "Name of the vaults and the plan, e.g. shop-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3-41 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "resource_arns" {
  description = "ARNs of the resources the plan protects (the RDS primary)."
  type        = list(string)

  validation {
    condition     = length(var.resource_arns) > 0
    error_message = "resource_arns must name at least one resource."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the vault in the primary region."
  type        = string
}

variable "copy_kms_key_arn" {
  description = "KMS key, in the copy region, of the vault the copies go to."
  type        = string
}

variable "schedule" {
  description = "When the daily backup starts (AWS cron expression, UTC)."
  type        = string
  default     = "cron(0 3 * * ? *)"

  validation {
    condition     = can(regex("^cron\\(.+\\)$", var.schedule))
    error_message = "schedule must be an AWS cron expression, e.g. cron(0 3 * * ? *)."
  }
}

variable "retention_days" {
  description = "Days each backup is kept in the primary region."
  type        = number
  default     = 35

  validation {
    condition     = var.retention_days >= 7
    error_message = "retention_days must be at least 7."
  }
}

variable "copy_retention_days" {
  description = "Days each cross-region copy is kept."
  type        = number
  default     = 35

  validation {
    condition     = var.copy_retention_days >= 7
    error_message = "copy_retention_days must be at least 7."
  }
}

variable "continuous_backup" {
  description = "Also keep continuous backups (point-in-time restore through AWS Backup, up to 35 days)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
