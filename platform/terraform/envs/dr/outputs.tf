output "stormcheck_settings" {
  description = "Settings of stormcheck's aws profile (STORMCHECK_<KEY>=<value>)."
  value       = module.platform.stormcheck_settings
}

output "helm_values" {
  description = "Values for the Helm charts (helm -f)."
  value       = module.platform.helm_values
}

output "ci_role_arn" {
  description = "Role the GitHub Actions deploy jobs of this environment assume."
  value       = module.platform.ci_role_arn
}

output "backup_copy_vault_arn" {
  description = "Vault, in the copy region, holding this environment's cross-region backup copies."
  value       = module.platform.backup_copy_vault_arn
}
