variable "repositories" {
  description = "Names of the image repositories, e.g. [\"shop/api\", \"shop/web\"]."
  type        = list(string)

  validation {
    condition     = length(var.repositories) > 0 && alltrue([for r in var.repositories : can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*$", r))])
    error_message = "repositories must be a non-empty list of lower-case ECR repository names."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images at rest."
  type        = string
}

variable "keep_images" {
  description = "How many of the newest images each repository keeps (tags are content hashes)."
  type        = number
  default     = 50

  validation {
    condition     = var.keep_images >= 10
    error_message = "keep_images must be at least 10, so a rollback target is never expired."
  }
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images (failed pushes, superseded layers) expire."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_expiry_days >= 1
    error_message = "untagged_expiry_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to every resource (the environment's required tags)."
  type        = map(string)
}
