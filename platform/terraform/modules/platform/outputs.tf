################################################################################
# What the harness and the charts read, each value named here once; the environments
# forward every output under the same name.
#   stormcheck_settings   keys are stormcheck settings (STORMCHECK_<KEY> for --profile aws)
#   the other outputs     the names platform/charts/*/values.yaml and README.md refer to
################################################################################

output "stormcheck_settings" {
  description = "Settings of stormcheck's aws profile, by setting name."
  value = {
    aws_region                     = data.aws_region.current.name
    kube_context                   = "arn:${data.aws_partition.current.partition}:eks:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:cluster/${module.eks.cluster_name}"
    logstore_url                   = "https://${module.opensearch.endpoint}"
    aws_eks_cluster_name           = module.eks.cluster_name
    aws_rds_instance_id            = module.rds.db_instance_identifier
    aws_rds_endpoint               = module.rds.endpoint
    aws_rds_reader_endpoint        = module.rds.reader_endpoint
    aws_redis_replication_group_id = module.elasticache.replication_group_id
    aws_redis_endpoint             = "${module.elasticache.primary_endpoint}:${module.elasticache.port}"
    aws_node_security_group_id     = module.security_groups.nodes_security_group_id
    aws_database_security_group_id = module.security_groups.database_security_group_id
    aws_redis_security_group_id    = module.security_groups.redis_security_group_id
    aws_certificate_arn            = module.acm.certificate_arn
    aws_web_acl_arn                = module.waf.web_acl_arn
  }
}

output "ecr_registry" {
  description = "The image registry (<account>.dkr.ecr.<region>.amazonaws.com): image.registry of the shop and locust charts."
  value       = module.ecr.registry
}

output "shop_irsa_role_arn" {
  description = "IRSA role of the shop's service account (shop/shop): serviceAccount.roleArn of the shop chart."
  value       = module.iam.pod_role_arns["shop"]
}

output "rds_endpoint" {
  description = "Host name of the PostgreSQL primary: database.host of the shop chart."
  value       = module.rds.address
}

output "rds_port" {
  description = "PostgreSQL port: database.port of the shop chart."
  value       = module.rds.port
}

output "rds_secret_name" {
  description = "The RDS-managed master secret (JSON username and password), by ARN, which Secrets Manager accepts as its name: externalSecret.databaseKey."
  value       = module.rds.master_user_secret_arn
}

output "elasticache_primary_endpoint" {
  description = "The Redis primary endpoint, which follows failovers: cache.host of the shop chart."
  value       = module.elasticache.primary_endpoint
}

output "elasticache_port" {
  description = "Redis port (TLS): cache.port of the shop chart."
  value       = module.elasticache.port
}

output "elasticache_auth_secret_name" {
  description = "Secret holding the Redis AUTH token as JSON {\"password\": ...}: externalSecret.cacheKey of the shop chart."
  value       = module.elasticache.auth_secret_name
}

output "private_subnet_cidrs" {
  description = "CIDRs of the private subnets (the pods): database.cidrs and cache.cidrs of the shop chart."
  value       = module.vpc.private_subnet_cidrs
}

output "vpc_cidr" {
  description = "CIDR of the VPC: networkPolicy.ingressCidrs of the shop chart."
  value       = module.vpc.vpc_cidr
}

output "acm_certificate_arn" {
  description = "The ingress certificate: ingress.certificateArn of the shop chart."
  value       = module.acm.certificate_arn
}

output "waf_web_acl_arn" {
  description = "The web ACL whose rate-based rule is the ALB's rate limit: ingress.wafAclArn of the shop chart."
  value       = module.waf.web_acl_arn
}

output "irsa_role_arns" {
  description = "IRSA roles of the platform's add-ons (cluster autoscaler, External Secrets, AWS Load Balancer Controller, log shipper), by add-on."
  value = {
    cluster-autoscaler           = module.eks.cluster_autoscaler_role_arn
    external-secrets             = module.secrets.external_secrets_role_arn
    aws-load-balancer-controller = module.iam.pod_role_arns["aws-load-balancer-controller"]
    log-shipper                  = module.iam.pod_role_arns["log-shipper"]
  }
}

output "opensearch_endpoint" {
  description = "HTTPS endpoint of the log store: opensearch.host of the logging chart (port 443, TLS)."
  value       = module.opensearch.endpoint
}

output "ci_role_arn" {
  description = "Role the GitHub Actions deploy jobs of this environment assume."
  value       = module.iam.ci_role_arn
}

output "backup_copy_vault_arn" {
  description = "Vault, in the copy region, holding this environment's cross-region backup copies."
  value       = module.backup.copy_vault_arn
}
