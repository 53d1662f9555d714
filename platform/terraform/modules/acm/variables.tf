variable "domain_name" {
  description = "Host name of the shop's ingress, e.g. shop.example.com."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name, e.g. shop.example.com."
  }
}

variable "subject_alternative_names" {
  description = "Other host names the certificate covers."
  type        = list(string)
  default     = []
}

variable "zone_id" {
  description = "Route 53 hosted zone that holds the DNS validation records."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]+$", var.zone_id))
    error_message = "zone_id must be a Route 53 hosted zone ID (Z...)."
  }
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
