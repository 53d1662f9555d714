output "vault_arn" {
  description = "Vault of the primary region's recovery points."
  value       = aws_backup_vault.this.arn
}

output "copy_vault_arn" {
  description = "Vault, in the DR region, of the cross-region copies."
  value       = aws_backup_vault.copy.arn
}

output "plan_id" {
  description = "ID of the backup plan (for backup drills: start-backup-job, list-recovery-points)."
  value       = aws_backup_plan.this.id
}
