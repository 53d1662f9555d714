variable "name" {
  description = "Name of the web ACL, e.g. shop-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,60}$", var.name))
    error_message = "name must be 3-61 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "rate_limit_per_5min" {
  description = "Requests one client IP may send in any 5-minute window before it is blocked (the ingress's rate limit: an ALB has none of its own)."
  type        = number
  default     = 2000

  validation {
    condition     = var.rate_limit_per_5min >= 100 && var.rate_limit_per_5min <= 2000000000
    error_message = "rate_limit_per_5min must be between 100 (WAF's minimum) and 2000000000."
  }
}

variable "log_retention_days" {
  description = "How long WAF logs are kept in CloudWatch Logs, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([90, 180, 365, 400, 545, 731, 1096, 1827, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention of at least 90 days."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the WAF log group."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
