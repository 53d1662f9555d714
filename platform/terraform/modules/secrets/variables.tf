variable "name" {
  description = "Prefix of the secret names (<name>/<secret>), e.g. shop-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "secrets" {
  description = "Application secrets to create, key = secret name under the prefix, value = what it holds. Values are set outside Terraform."
  type        = map(string)

  validation {
    condition     = alltrue([for k in keys(var.secrets) : can(regex("^[a-z0-9][a-z0-9/_-]*$", k))])
    error_message = "secrets keys must be lower-case names of a-z, 0-9, /, _ and -."
  }
}

variable "readable_secret_arns" {
  description = "Secrets made elsewhere (the RDS master secret, the Redis AUTH token) External Secrets may also read."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secrets."
  type        = string
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 30

  validation {
    condition     = var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30
    error_message = "recovery_window_in_days must be between 7 and 30."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's OIDC provider."
  type        = string
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https://."
  type        = string
}

variable "external_secrets_service_account" {
  description = "Namespace and name of the External Secrets Operator's service account."
  type = object({
    namespace = string
    name      = string
  })
  default = {
    namespace = "external-secrets"
    name      = "external-secrets"
  }
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
