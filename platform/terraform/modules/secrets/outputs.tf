output "secret_arns" {
  description = "Secret ARN by secret key."
  value       = { for key, s in aws_secretsmanager_secret.this : key => s.arn }
}

output "external_secrets_role_arn" {
  description = "IRSA role of the External Secrets Operator's service account."
  value       = aws_iam_role.external_secrets.arn
}
