################################################################################
# staging: the same shape as production, smaller, deletable
################################################################################

locals {
  region      = "eu-west-1"
  copy_region = "eu-central-1"
  tags = {
    Project     = "shop"
    Environment = "staging"
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

  environment                 = "staging"
  name                        = "shop-staging"
  azs                         = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  vpc_cidr                    = "10.20.0.0/16"
  kubernetes_version          = "1.31"
  eks_public_access_cidrs     = var.eks_public_access_cidrs
  node_group                  = { instance_types = ["m6i.large"], min_size = 1, desired_size = 1, max_size = 3 }
  redis_node_type             = "cache.t4g.medium"
  opensearch                  = { instance_type = "t3.medium.search", instance_count = 3 }
  rate_limit_per_5min         = 2000
  domain_name                 = var.domain_name
  zone_id                     = var.zone_id
  github_repository           = var.github_repository
  create_github_oidc_provider = true
  backup_retention_days       = 7

  db = {
    engine_version        = "16.4"
    instance_class        = "db.t4g.medium"
    backup_retention_days = 7
    deletion_protection   = false
  }

  tags = local.tags
}
