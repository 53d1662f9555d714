variable "name" {
  description = "Name of the EKS cluster, e.g. shop-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and the node groups, e.g. 1.31."
  type        = string

  validation {
    condition     = can(regex("^1\\.(29|3[0-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be a supported minor version from 1.29, e.g. 1.31."
  }
}

variable "subnet_ids" {
  description = "The three private subnets (one per availability zone) of the control plane ENIs and the nodes."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) == 3
    error_message = "subnet_ids must hold exactly three private subnets, one per availability zone."
  }
}

variable "node_security_group_id" {
  description = "Security group of the nodes (and of the control plane ENIs)."
  type        = string
}

variable "node_role_arn" {
  description = "IAM role the nodes run as (from the iam module)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.node_role_arn))
    error_message = "node_role_arn must be an IAM role ARN."
  }
}

variable "kms_key_arn" {
  description = "KMS key that envelope-encrypts Kubernetes secrets and the control-plane log group."
  type        = string
}

variable "public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public API endpoint; empty keeps the endpoint private only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "public_access_cidrs must be IPv4 CIDR blocks other than 0.0.0.0/0."
  }
}

variable "admin_roles" {
  description = "IAM roles given cluster-admin access entries, by a fixed name (e.g. ci = the CI deploy role's ARN)."
  type        = map(string)
  default     = {}
}

variable "node_group" {
  description = "Size and instance types of the managed node group in each availability zone."
  type = object({
    instance_types = list(string)
    min_size       = number
    desired_size   = number
    max_size       = number
    disk_size_gb   = optional(number, 50)
  })

  validation {
    condition     = var.node_group.min_size >= 1 && var.node_group.min_size <= var.node_group.desired_size && var.node_group.desired_size <= var.node_group.max_size
    error_message = "node_group sizes must satisfy 1 <= min_size <= desired_size <= max_size."
  }
}

variable "log_retention_days" {
  description = "How long control-plane logs are kept, in days."
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
