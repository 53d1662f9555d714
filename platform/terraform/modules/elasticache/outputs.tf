output "replication_group_id" {
  description = "ID of the replication group (for ElastiCache failover experiments)."
  value       = aws_elasticache_replication_group.this.id
}

output "primary_endpoint" {
  description = "The one endpoint clients use; it follows the primary through a failover."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "reader_endpoint" {
  description = "Endpoint spread over the replicas (not used by the shop's client model)."
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "port" {
  description = "Port of the endpoints (TLS)."
  value       = aws_elasticache_replication_group.this.port
}

output "auth_secret_name" {
  description = "Name of the Secrets Manager secret holding the AUTH token as JSON {\"password\": ...}."
  value       = aws_secretsmanager_secret.auth.name
}

output "auth_secret_arn" {
  description = "Secrets Manager secret holding the AUTH token (read by External Secrets)."
  value       = aws_secretsmanager_secret.auth.arn
}
