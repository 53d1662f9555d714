variable "name" {
  description = "Replication group ID, e.g. shop-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,39}$", var.name))
    error_message = "name must be 3-40 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "engine" {
  description = "Engine and version: Redis OSS up to 7.2 (the last BSD-licensed Redis) or Valkey."
  type = object({
    name    = string
    version = string
  })
  default = {
    name    = "redis"
    version = "7.1"
  }

  validation {
    condition = (
      (var.engine.name == "redis" && can(regex("^7\\.[0-2]$", var.engine.version))) ||
      (var.engine.name == "valkey" && can(regex("^(7\\.2|8\\.[0-9]+)$", var.engine.version)))
    )
    error_message = "engine must be redis 7.0-7.2 or valkey 7.2/8.x: later Redis releases are not open source."
  }
}

variable "node_type" {
  description = "Cache node type, e.g. cache.r7g.large."
  type        = string

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "node_type must be an ElastiCache node type (cache.*)."
  }
}

variable "replicas" {
  description = "Read replicas besides the primary; with 2, there is one node in each of the three zones."
  type        = number
  default     = 2

  validation {
    condition     = var.replicas >= 1 && var.replicas <= 5
    error_message = "replicas must be between 1 and 5: automatic failover needs at least one."
  }
}

variable "subnet_ids" {
  description = "The three database subnets, one per availability zone."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) == 3
    error_message = "subnet_ids must hold exactly three subnets."
  }
}

variable "security_group_id" {
  description = "The redis tier's security group."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the data at rest, the snapshots and the auth token secret."
  type        = string
}

variable "snapshot_retention_days" {
  description = "Days of daily snapshots."
  type        = number
  default     = 7

  validation {
    condition     = var.snapshot_retention_days >= 7 && var.snapshot_retention_days <= 35
    error_message = "snapshot_retention_days must be between 7 and 35."
  }
}

variable "log_retention_days" {
  description = "How long the slow log is kept in CloudWatch Logs, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([90, 180, 365, 400, 545, 731, 1096, 1827, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention of at least 90 days."
  }
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
