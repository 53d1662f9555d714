variable "name" {
  description = "Identifier of the primary instance, e.g. shop-production; the replica is <name>-replica."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,50}$", var.name))
    error_message = "name must be 3-51 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "engine_version" {
  description = "PostgreSQL version (major.minor), e.g. 16.4. The parameter group family follows the major version."
  type        = string

  validation {
    condition     = can(regex("^1[5-7]\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be PostgreSQL 15, 16 or 17 as major.minor, e.g. 16.4 (the local platform runs 15)."
  }
}

variable "instance_class" {
  description = "Instance class of the primary and the replica, e.g. db.r6g.large."
  type        = string

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS instance class (db.*)."
  }
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB; storage autoscaling may grow it to max_allocated_storage_gb."
  type        = number
  default     = 100

  validation {
    condition     = var.allocated_storage_gb >= 20
    error_message = "allocated_storage_gb must be at least 20."
  }
}

variable "max_allocated_storage_gb" {
  description = "Upper bound of storage autoscaling, in GiB."
  type        = number
  default     = 500
}

variable "database_name" {
  description = "Name of the database the shop uses."
  type        = string
  default     = "shop"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must start with a letter and hold only a-z, 0-9 and _."
  }
}

variable "subnet_ids" {
  description = "The three database subnets, one per availability zone."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) == 3
    error_message = "subnet_ids must hold exactly three database subnets."
  }
}

variable "security_group_id" {
  description = "The database tier's security group."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the storage, the Performance Insights data and the managed master password."
  type        = string
}

variable "backup_retention_days" {
  description = "Days of automated backups, which are also the point-in-time recovery window."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instances (true in production)."
  type        = bool
  default     = true
}

variable "slow_query_ms" {
  description = "Statements slower than this are logged (log_min_duration_statement)."
  type        = number
  default     = 500

  validation {
    condition     = var.slow_query_ms >= 0
    error_message = "slow_query_ms must be 0 or more."
  }
}

variable "snapshot_identifier" {
  description = "Restore the primary from this snapshot or recovery point (the DR region's restore of a cross-region copy); null creates an empty database."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
