output "alb_security_group_id" {
  description = "Security group of the ingress load balancer."
  value       = aws_security_group.this["alb"].id
}

output "nodes_security_group_id" {
  description = "Security group of the EKS nodes and pods."
  value       = aws_security_group.this["nodes"].id
}

output "database_security_group_id" {
  description = "Security group of RDS PostgreSQL."
  value       = aws_security_group.this["database"].id
}

output "redis_security_group_id" {
  description = "Security group of ElastiCache Redis."
  value       = aws_security_group.this["redis"].id
}

output "opensearch_security_group_id" {
  description = "Security group of the OpenSearch log store."
  value       = aws_security_group.this["opensearch"].id
}
