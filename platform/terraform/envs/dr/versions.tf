terraform {
  required_version = ">= 1.6.0"

  # State in S3 with native locking; bucket, key and region come from
  # `tofu init -backend-config=backend.hcl` (see ../../README.md).
  backend "s3" {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0"
    }
  }
}
