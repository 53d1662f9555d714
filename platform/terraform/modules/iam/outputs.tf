output "ci_role_arn" {
  description = "Role the GitHub Actions deploy jobs assume (aws-actions/configure-aws-credentials role-to-assume)."
  value       = aws_iam_role.this.arn
}

output "node_role_arn" {
  description = "Role of the EKS managed node groups."
  value       = aws_iam_role.nodes.arn
}

output "pod_role_arns" {
  description = "IRSA role ARN by role suffix (the eks.amazonaws.com/role-arn annotations of the Helm values)."
  value       = { for key, role in aws_iam_role.pods : key => role.arn }
}
