variable "owner" {
  description = "Team that owns the environment (the Owner tag)."
  type        = string

  validation {
    condition     = length(trimspace(var.owner)) > 0
    error_message = "owner must name a team."
  }
}

variable "domain_name" {
  description = "Host name of the shop's ingress when the DR region serves it."
  type        = string
}

variable "zone_id" {
  description = "Route 53 hosted zone of domain_name."
  type        = string
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose deployment jobs may assume this environment's CI role."
  type        = string
}

variable "eks_public_access_cidrs" {
  description = "CIDR blocks (e.g. the CI runners' egress) allowed to reach the EKS API publicly; empty keeps it private."
  type        = list(string)
  default     = []
}

variable "restore_recovery_point_arn" {
  description = "Snapshot ARN (an AWS Backup copy of production's database in this region) the DR database is restored from; null only for a first, empty standby."
  type        = string
  default     = null

  validation {
    condition     = var.restore_recovery_point_arn == null || can(regex("^arn:aws[a-z-]*:rds:eu-central-1:[0-9]{12}:snapshot:", var.restore_recovery_point_arn))
    error_message = "restore_recovery_point_arn must be an RDS snapshot ARN in eu-central-1 (the copies of the production backups)."
  }
}
