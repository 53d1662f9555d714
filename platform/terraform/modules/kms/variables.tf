variable "name" {
  description = "Alias of the key, without the alias/ prefix, e.g. shop-production-data."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{3,250}$", var.name)) && !startswith(var.name, "aws/")
    error_message = "name must be 3-250 characters of a-z, A-Z, 0-9, /, _ and -, and must not start with aws/."
  }
}

variable "description" {
  description = "What the key encrypts."
  type        = string
}

variable "service_principals" {
  description = "AWS service principals allowed to use the key on the account's behalf, e.g. logs.eu-west-1.amazonaws.com."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.service_principals : endswith(p, ".amazonaws.com")])
    error_message = "service_principals must be AWS service principals ending in .amazonaws.com."
  }
}

variable "deletion_window_in_days" {
  description = "Days a deleted key can still be recovered."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
