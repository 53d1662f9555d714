################################################################################
# What the harness and the charts read. Each value is named here once:
#   stormcheck_settings  keys are stormcheck settings (STORMCHECK_<KEY> for --profile aws)
#   helm_values          a values document for helm -f (IRSA annotations, ingress, log store)
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

output "helm_values" {
  description = "Helm values fed by this environment: IRSA role annotations, the ingress certificate and web ACL, the log store."
  value = {
    irsa = {
      clusterAutoscaler         = module.eks.cluster_autoscaler_role_arn
      externalSecrets           = module.secrets.external_secrets_role_arn
      awsLoadBalancerController = module.iam.pod_role_arns["aws-load-balancer-controller"]
      logShipper                = module.iam.pod_role_arns["log-shipper"]
    }
    ingress = {
      host             = var.domain_name
      certificateArn   = module.acm.certificate_arn
      wafAclArn        = module.waf.web_acl_arn
      rateLimitPer5min = module.waf.rate_limit_per_5min
    }
    images = module.ecr.repository_urls
    secrets = {
      api       = module.secrets.secret_arns["shop/api"]
      database  = module.rds.master_user_secret_arn
      redisAuth = module.elasticache.auth_secret_arn
    }
    opensearch = {
      host = module.opensearch.endpoint
      port = 443
      tls = {
        enabled = true
      }
    }
  }
}

output "ci_role_arn" {
  description = "Role the GitHub Actions deploy jobs of this environment assume."
  value       = module.iam.ci_role_arn
}

output "backup_copy_vault_arn" {
  description = "Vault, in the copy region, holding this environment's cross-region backup copies."
  value       = module.backup.copy_vault_arn
}
