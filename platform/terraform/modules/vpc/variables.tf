variable "name" {
  description = "Name prefix of every resource of the network, e.g. shop-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC: a /16 split into private /19, public /24 and database /24 subnets."
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr, 0)) && endswith(var.cidr, "/16")
    error_message = "cidr must be an IPv4 /16 block, e.g. 10.20.0.0/16."
  }
}

variable "azs" {
  description = "The three availability zones the subnets, NAT gateways and route tables are spread over."
  type        = list(string)

  validation {
    condition     = length(var.azs) == 3 && length(distinct(var.azs)) == 3
    error_message = "azs must name exactly three distinct availability zones."
  }
}

variable "flow_log_retention_days" {
  description = "How long VPC flow logs are kept in CloudWatch Logs, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([90, 180, 365, 400, 545, 731, 1096, 1827, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch Logs retention of at least 90 days (90, 180, 365, 400, 545, 731, 1096, 1827 or 3653)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the flow log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
