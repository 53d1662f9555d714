################################################################################
# production: eu-west-1, backups copied to the DR region (eu-central-1)
################################################################################

locals {
  region      = "eu-west-1"
  copy_region = "eu-central-1"
  tags = {
    Project     = "shop"
    Environment = "production"
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

  environment                 = "production"
  name                        = "shop-production"
  azs                         = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  vpc_cidr                    = "10.30.0.0/16"
  kubernetes_version          = "1.31"
  eks_public_access_cidrs     = var.eks_public_access_cidrs
  node_group                  = { instance_types = ["m6i.xlarge"], min_size = 2, desired_size = 2, max_size = 6 }
  redis_node_type             = "cache.r7g.large"
  opensearch                  = { instance_type = "r6g.large.search", instance_count = 3 }
  rate_limit_per_5min         = 2000
  domain_name                 = var.domain_name
  zone_id                     = var.zone_id
  github_repository           = var.github_repository
  create_github_oidc_provider = true
  backup_retention_days       = 35

  db = {
    engine_version        = "16.4"
    instance_class        = "db.r6g.large"
    backup_retention_days = 14
    deletion_protection   = true
  }

  tags = local.tags
}
