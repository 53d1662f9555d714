output "domain_arn" {
  description = "ARN of the domain."
  value       = aws_opensearch_domain.this.arn
}

output "endpoint" {
  description = "HTTPS endpoint of the domain (the log store URL is https://<endpoint>)."
  value       = aws_opensearch_domain.this.endpoint
}
