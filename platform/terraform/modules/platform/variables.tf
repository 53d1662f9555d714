variable "environment" {
  description = "Which environment this is: staging, production or dr (the DR region's standby)."
  type        = string

  validation {
    condition     = contains(["staging", "production", "dr"], var.environment)
    error_message = "environment must be staging, production or dr."
  }
}

variable "name" {
  description = "Name prefix of every resource, e.g. shop-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,22}$", var.name))
    error_message = "name must be 3-23 characters of a-z, 0-9 and -, starting with a letter (it prefixes names with length limits)."
  }
}

variable "azs" {
  description = "The three availability zones of the region."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "IPv4 /16 of the VPC."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of EKS."
  type        = string
}

variable "node_group" {
  description = "Managed node group size per availability zone and instance types."
  type = object({
    instance_types = list(string)
    min_size       = number
    desired_size   = number
    max_size       = number
  })
}

variable "eks_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the EKS API publicly; empty keeps it private."
  type        = list(string)
  default     = []
}

variable "db" {
  description = "RDS PostgreSQL: version, instance class, backup retention (days), deletion protection and an optional snapshot to restore."
  type = object({
    engine_version        = string
    instance_class        = string
    backup_retention_days = number
    deletion_protection   = bool
    snapshot_identifier   = optional(string)
  })
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "opensearch" {
  description = "OpenSearch data node type and count (a multiple of 3)."
  type = object({
    instance_type  = string
    instance_count = number
  })
}

variable "domain_name" {
  description = "Host name of the shop's ingress."
  type        = string
}

variable "zone_id" {
  description = "Route 53 hosted zone of domain_name (certificate validation)."
  type        = string
}

variable "rate_limit_per_5min" {
  description = "Per-client-IP request limit of the ingress's web ACL, per 5 minutes."
  type        = number
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose deployment jobs may assume the CI role."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider here (only one environment per account does)."
  type        = bool
}

variable "backup_retention_days" {
  description = "Days AWS Backup keeps each recovery point, in this region and in the copy region."
  type        = number
}

variable "tags" {
  description = "The environment's required tags (Project, Environment, Owner, ManagedBy), added to every resource."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["Project", "Environment", "Owner", "ManagedBy"] : contains(keys(var.tags), k)])
    error_message = "tags must hold Project, Environment, Owner and ManagedBy."
  }
}
