output "repository_urls" {
  description = "Repository URL by repository name (the image names of the Helm values)."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "registry" {
  description = "The registry host (<account>.dkr.ecr.<region>.amazonaws.com) the repositories live in."
  value       = split("/", values(aws_ecr_repository.this)[0].repository_url)[0]
}

output "repository_arns" {
  description = "Repository ARN by repository name (for the CI role's push policy)."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.arn }
}
