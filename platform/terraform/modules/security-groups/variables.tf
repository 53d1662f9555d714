variable "name" {
  description = "Name prefix of the security groups, e.g. shop-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the groups belong to."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC: the nodes' only egress destination besides HTTPS."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be an IPv4 CIDR block."
  }
}

variable "ingress_cidrs" {
  description = "Client CIDR blocks allowed to reach the load balancer on 443 (the public internet for a shop)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "ingress_cidrs must be IPv4 CIDR blocks."
  }
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
