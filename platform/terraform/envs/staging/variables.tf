variable "owner" {
  description = "Team that owns the environment (the Owner tag)."
  type        = string

  validation {
    condition     = length(trimspace(var.owner)) > 0
    error_message = "owner must name a team."
  }
}

variable "domain_name" {
  description = "Host name of the shop's ingress in this environment."
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
