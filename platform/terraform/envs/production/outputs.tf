# Every output of modules/platform, under its own name.

output "stormcheck_settings" {
  description = "Settings of stormcheck's aws profile, by setting name."
  value       = module.platform.stormcheck_settings
}

output "ecr_registry" {
  description = "The image registry (<account>.dkr.ecr.<region>.amazonaws.com): image.registry of the shop and locust charts."
  value       = module.platform.ecr_registry
}

output "shop_irsa_role_arn" {
  description = "IRSA role of the shop's service account (shop/shop): serviceAccount.roleArn of the shop chart."
  value       = module.platform.shop_irsa_role_arn
}

output "rds_endpoint" {
  description = "Host name of the PostgreSQL primary: database.host of the shop chart."
  value       = module.platform.rds_endpoint
}

output "rds_port" {
  description = "PostgreSQL port: database.port of the shop chart."
  value       = module.platform.rds_port
}

output "rds_secret_name" {
  description = "The RDS-managed master secret (JSON username and password), by ARN, which Secrets Manager accepts as its name: externalSecret.databaseKey."
  value       = module.platform.rds_secret_name
}

output "elasticache_primary_endpoint" {
  description = "The Redis primary endpoint, which follows failovers: cache.host of the shop chart."
  value       = module.platform.elasticache_primary_endpoint
}

output "elasticache_port" {
  description = "Redis port (TLS): cache.port of the shop chart."
  value       = module.platform.elasticache_port
}

output "elasticache_auth_secret_name" {
  description = "Secret holding the Redis AUTH token as JSON {\"password\": ...}: externalSecret.cacheKey of the shop chart."
  value       = module.platform.elasticache_auth_secret_name
}

output "private_subnet_cidrs" {
  description = "CIDRs of the private subnets (the pods): database.cidrs and cache.cidrs of the shop chart."
  value       = module.platform.private_subnet_cidrs
}

output "vpc_cidr" {
  description = "CIDR of the VPC: networkPolicy.ingressCidrs of the shop chart."
  value       = module.platform.vpc_cidr
}

output "acm_certificate_arn" {
  description = "The ingress certificate: ingress.certificateArn of the shop chart."
  value       = module.platform.acm_certificate_arn
}

output "waf_web_acl_arn" {
  description = "The web ACL whose rate-based rule is the ALB's rate limit: ingress.wafAclArn of the shop chart."
  value       = module.platform.waf_web_acl_arn
}

output "irsa_role_arns" {
  description = "IRSA roles of the platform's add-ons (cluster autoscaler, External Secrets, AWS Load Balancer Controller, log shipper), by add-on."
  value       = module.platform.irsa_role_arns
}

output "opensearch_endpoint" {
  description = "HTTPS endpoint of the log store: opensearch.host of the logging chart (port 443, TLS)."
  value       = module.platform.opensearch_endpoint
}

output "ci_role_arn" {
  description = "Role the GitHub Actions deploy jobs of this environment assume."
  value       = module.platform.ci_role_arn
}

output "backup_copy_vault_arn" {
  description = "Vault, in the copy region, holding this environment's cross-region backup copies."
  value       = module.platform.backup_copy_vault_arn
}
