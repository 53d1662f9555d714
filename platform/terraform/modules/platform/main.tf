################################################################################
# One environment of the shop's platform on AWS: every module, wired together.
# envs/<environment> sets the values; this file is the only place the wiring lives.
################################################################################

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "copy" {
  provider = aws.copy
}

module "kms_data" {
  source = "../kms"

  name        = "${var.name}-data"
  description = "Data at rest of ${var.name}: EKS secrets, RDS, ElastiCache, OpenSearch, Secrets Manager, ECR, AWS Backup"
  tags        = var.tags
}

module "kms_logs" {
  source = "../kms"

  name               = "${var.name}-logs"
  description        = "CloudWatch log groups of ${var.name}"
  service_principals = ["logs.${data.aws_region.current.name}.amazonaws.com"]
  tags               = var.tags
}

module "kms_copy" {
  source = "../kms"
  providers = {
    aws = aws.copy
  }

  name        = "${var.name}-backup-copy"
  description = "AWS Backup copies of ${var.name} in ${data.aws_region.copy.name}"
  tags        = var.tags
}

module "vpc" {
  source = "../vpc"

  name        = var.name
  cidr        = var.vpc_cidr
  azs         = var.azs
  kms_key_arn = module.kms_logs.key_arn
  tags        = var.tags
}

module "security_groups" {
  source = "../security-groups"

  name     = var.name
  vpc_id   = module.vpc.vpc_id
  vpc_cidr = module.vpc.vpc_cidr
  tags     = var.tags
}

module "ecr" {
  source = "../ecr"

  repositories = ["stormcheck/shop", "stormcheck/locust"]
  kms_key_arn  = module.kms_data.key_arn
  tags         = var.tags
}

module "iam" {
  source = "../iam"

  name                        = var.name
  github_repository           = var.github_repository
  github_environments         = [var.environment]
  create_github_oidc_provider = var.create_github_oidc_provider
  ecr_repository_arns         = values(module.ecr.repository_arns)
  oidc_provider_arn           = module.eks.oidc_provider_arn
  oidc_issuer                 = module.eks.oidc_issuer
  pod_inline_policies = {
    "aws-load-balancer-controller" = data.aws_iam_policy_document.load_balancer_controller.json
  }
  pod_roles = {
    "aws-load-balancer-controller" = {
      namespace       = "kube-system"
      service_account = "aws-load-balancer-controller"
      policy_arns     = ["arn:${data.aws_partition.current.partition}:iam::aws:policy/ElasticLoadBalancingFullAccess"]
    }
    "shop" = {
      namespace       = "shop"
      service_account = "shop"
      policy_arns     = []
    }
    "log-shipper" = {
      namespace       = "logging"
      service_account = "logs-fluent-bit"
      policy_arns     = []
    }
  }
  tags = var.tags
}

# What the AWS Load Balancer Controller needs beyond ElasticLoadBalancingFullAccess: the ingress's
# certificate and web ACL, and the security groups it manages for its load balancers (tagged
# elbv2.k8s.aws/cluster by the controller, and only those).
data "aws_iam_policy_document" "load_balancer_controller" {
  statement {
    sid = "ReadForIngress"
    actions = [
      "acm:ListCertificates",
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeTags",
      "shield:GetSubscriptionState",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ReadTheCertificate"
    actions   = ["acm:DescribeCertificate"]
    resources = [module.acm.certificate_arn]
  }

  statement {
    sid       = "AttachTheWebAcl"
    actions   = ["wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"]
    resources = [module.waf.web_acl_arn, "arn:${data.aws_partition.current.partition}:elasticloadbalancing:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:loadbalancer/app/*"]
  }

  statement {
    sid       = "CreateSecurityGroupsInTheVpc"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:vpc/${module.vpc.vpc_id}", "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:security-group/*"]
  }

  statement {
    sid = "ManageOwnSecurityGroups"
    actions = [
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:DeleteSecurityGroup",
      "ec2:CreateTags",
      "ec2:DeleteTags",
    ]
    resources = ["arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:security-group/*"]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }
}

module "eks" {
  source = "../eks"

  name                   = var.name
  kubernetes_version     = var.kubernetes_version
  subnet_ids             = module.vpc.private_subnet_ids
  node_security_group_id = module.security_groups.nodes_security_group_id
  node_role_arn          = module.iam.node_role_arn
  kms_key_arn            = module.kms_data.key_arn
  public_access_cidrs    = var.eks_public_access_cidrs
  admin_roles            = { ci = module.iam.ci_role_arn }
  node_group             = var.node_group
  tags                   = var.tags
}

module "rds" {
  source = "../rds"

  name                  = var.name
  engine_version        = var.db.engine_version
  instance_class        = var.db.instance_class
  subnet_ids            = module.vpc.database_subnet_ids
  security_group_id     = module.security_groups.database_security_group_id
  kms_key_arn           = module.kms_data.key_arn
  backup_retention_days = var.db.backup_retention_days
  deletion_protection   = var.db.deletion_protection
  snapshot_identifier   = var.db.snapshot_identifier
  tags                  = var.tags
}

module "elasticache" {
  source = "../elasticache"

  name              = var.name
  node_type         = var.redis_node_type
  subnet_ids        = module.vpc.database_subnet_ids
  security_group_id = module.security_groups.redis_security_group_id
  kms_key_arn       = module.kms_data.key_arn
  tags              = var.tags
}

module "secrets" {
  source = "../secrets"

  name = var.name
  secrets = {
    "shop/api" = "Shop API configuration secrets (payment provider keys, session signing key)"
  }
  readable_secret_arns = [module.rds.master_user_secret_arn, module.elasticache.auth_secret_arn]
  kms_key_arn          = module.kms_data.key_arn
  oidc_provider_arn    = module.eks.oidc_provider_arn
  oidc_issuer          = module.eks.oidc_issuer
  tags                 = var.tags
}

module "backup" {
  source = "../backup"
  providers = {
    aws      = aws
    aws.copy = aws.copy
  }

  name                = var.name
  resource_arns       = [module.rds.db_instance_arn]
  kms_key_arn         = module.kms_data.key_arn
  copy_kms_key_arn    = module.kms_copy.key_arn
  retention_days      = var.backup_retention_days
  copy_retention_days = var.backup_retention_days
  tags                = var.tags
}

module "opensearch" {
  source = "../opensearch"

  name              = "${var.name}-logs"
  instance_type     = var.opensearch.instance_type
  instance_count    = var.opensearch.instance_count
  subnet_ids        = module.vpc.database_subnet_ids
  security_group_id = module.security_groups.opensearch_security_group_id
  kms_key_arn       = module.kms_data.key_arn
  log_kms_key_arn   = module.kms_logs.key_arn
  admin_role_arn    = module.iam.ci_role_arn
  writer_role_arns  = [module.iam.pod_role_arns["log-shipper"]]
  tags              = var.tags
}

module "waf" {
  source = "../waf"

  name                = var.name
  rate_limit_per_5min = var.rate_limit_per_5min
  kms_key_arn         = module.kms_logs.key_arn
  tags                = var.tags
}

module "acm" {
  source = "../acm"

  domain_name = var.domain_name
  zone_id     = var.zone_id
  tags        = var.tags
}
