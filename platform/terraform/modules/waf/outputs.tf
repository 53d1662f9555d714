output "web_acl_arn" {
  description = "ARN of the web ACL (the ingress annotation alb.ingress.kubernetes.io/wafv2-acl-arn)."
  value       = aws_wafv2_web_acl.this.arn
}

output "rate_limit_per_5min" {
  description = "The per-IP limit the ACL enforces, for the tests that check the ingress's rate limit."
  value       = var.rate_limit_per_5min
}
