variable "name" {
  description = "Name prefix of the roles, e.g. shop-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose workflows may assume the CI role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "github_environments" {
  description = "GitHub deployment environments allowed to assume the CI role (the OIDC sub is repo:<repo>:environment:<env>)."
  type        = list(string)

  validation {
    condition     = length(var.github_environments) > 0
    error_message = "github_environments must name at least one environment: a role any branch could assume is refused."
  }
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false when another environment of the same account made it)."
  type        = bool
  default     = true
}

variable "ecr_repository_arns" {
  description = "Repositories the CI role may push to."
  type        = list(string)
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's OIDC provider (the federated principal of the pod roles)."
  type        = string
  default     = null
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (prefix of the IRSA condition keys)."
  type        = string
  default     = null
}

variable "pod_roles" {
  description = "IRSA roles for pods: key = role suffix, value = the service account and the managed policies it needs."
  type = map(object({
    namespace       = string
    service_account = string
    policy_arns     = list(string)
  }))
  default = {}
}

variable "pod_inline_policies" {
  description = "Inline policies (JSON) of pod roles, by the role's key in pod_roles."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
