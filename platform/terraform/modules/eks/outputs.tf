output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "Endpoint of the Kubernetes API server."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API server."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_security_group_id" {
  description = "Security group EKS created for the control plane."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (the federated principal of IRSA roles)."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "oidc_issuer" {
  description = "OIDC issuer host and path, without https:// (the prefix of IRSA condition keys)."
  value       = local.oidc_issuer
}

output "node_group_names" {
  description = "Managed node groups, one per availability zone."
  value       = aws_eks_node_group.this[*].node_group_name
}

output "cluster_autoscaler_role_arn" {
  description = "IRSA role of the cluster autoscaler (service account kube-system/cluster-autoscaler)."
  value       = aws_iam_role.cluster_autoscaler.arn
}
