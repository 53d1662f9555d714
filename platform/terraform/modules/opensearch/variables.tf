variable "name" {
  description = "Domain name, e.g. shop-production-logs."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,27}$", var.name))
    error_message = "name must be 3-28 characters of a-z, 0-9 and -, starting with a letter (an OpenSearch domain name)."
  }
}

variable "engine_version" {
  description = "OpenSearch version; the local platform's log store runs 2.19."
  type        = string
  default     = "OpenSearch_2.19"

  validation {
    condition     = can(regex("^OpenSearch_2\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be OpenSearch_2.x (the log store's query DSL and index templates are tested against 2.19)."
  }
}

variable "instance_type" {
  description = "Data node instance type, e.g. r6g.large.search."
  type        = string

  validation {
    condition     = endswith(var.instance_type, ".search")
    error_message = "instance_type must be an OpenSearch instance type (*.search)."
  }
}

variable "instance_count" {
  description = "Data nodes, a multiple of 3 (one per zone)."
  type        = number
  default     = 3

  validation {
    condition     = var.instance_count >= 3 && var.instance_count % 3 == 0
    error_message = "instance_count must be a multiple of 3 so each zone holds the same number of nodes."
  }
}

variable "master_instance_type" {
  description = "Dedicated master node instance type (three of them)."
  type        = string
  default     = "m6g.large.search"
}

variable "volume_size_gb" {
  description = "EBS volume per data node, in GiB."
  type        = number
  default     = 100

  validation {
    condition     = var.volume_size_gb >= 10
    error_message = "volume_size_gb must be at least 10."
  }
}

variable "subnet_ids" {
  description = "The three database subnets."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) == 3
    error_message = "subnet_ids must hold exactly three subnets."
  }
}

variable "security_group_id" {
  description = "The opensearch tier's security group."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the data at rest."
  type        = string
}

variable "log_kms_key_arn" {
  description = "KMS key of the domain's own CloudWatch log groups."
  type        = string
}

variable "admin_role_arn" {
  description = "IAM role mapped to the security plugin's all_access (fine-grained access control master)."
  type        = string
}

variable "writer_role_arns" {
  description = "IAM roles allowed to call the domain (the log shipper's IRSA role, the harness's reader)."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "How long the domain's own logs are kept in CloudWatch Logs, in days."
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
