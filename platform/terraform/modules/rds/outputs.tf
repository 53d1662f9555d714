output "db_instance_arn" {
  description = "ARN of the primary instance (the resource AWS Backup protects)."
  value       = aws_db_instance.this.arn
}

output "db_instance_identifier" {
  description = "Identifier of the primary instance (for RDS failover experiments)."
  value       = aws_db_instance.this.identifier
}

output "endpoint" {
  description = "host:port of the primary; after a Multi-AZ failover the same name points at the new primary."
  value       = aws_db_instance.this.endpoint
}

output "address" {
  description = "Host name of the primary (the endpoint without the port)."
  value       = aws_db_instance.this.address
}

output "reader_endpoint" {
  description = "host:port of the read replica."
  value       = aws_db_instance.replica.endpoint
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the shop's database."
  value       = aws_db_instance.this.db_name
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret RDS keeps the master credentials in."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}
