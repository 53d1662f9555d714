################################################################################
# dr: the standby of production in eu-central-1. The database is restored from the latest
# cross-region copy AWS Backup made of production's (restore_recovery_point_arn); this
# region's own backups are copied back to eu-west-1.
################################################################################

locals {
  region      = "eu-central-1"
  copy_region = "eu-west-1"
  tags = {
    Project     = "shop"
    Environment = "dr"
    Owner       = var.owner
    ManagedBy   = "terraform"
  }
}

provider "aws" {
  region = local.region
  default_tags {
    tags = local.tags
  }
}

provider "aws" {
  alias  = "copy"
  region = local.copy_region
  default_tags {
    tags = local.tags
  }
}

module "platform" {
  source = "../../modules/platform"
  providers = {
    aws      = aws
    aws.copy = aws.copy
  }

  environment                 = "dr"
  name                        = "shop-dr"
  azs                         = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
  vpc_cidr                    = "10.40.0.0/16"
  kubernetes_version          = "1.31"
  eks_public_access_cidrs     = var.eks_public_access_cidrs
  node_group                  = { instance_types = ["m6i.xlarge"], min_size = 1, desired_size = 1, max_size = 6 }
  redis_node_type             = "cache.r7g.large"
  opensearch                  = { instance_type = "r6g.large.search", instance_count = 3 }
  rate_limit_per_5min         = 2000
  domain_name                 = var.domain_name
  zone_id                     = var.zone_id
  github_repository           = var.github_repository
  create_github_oidc_provider = false
  backup_retention_days       = 35

  db = {
    engine_version        = "16.4"
    instance_class        = "db.r6g.large"
    backup_retention_days = 14
    deletion_protection   = true
    snapshot_identifier   = var.restore_recovery_point_arn
  }

  tags = local.tags
}
