output "certificate_arn" {
  description = "ARN of the validated certificate (the ingress annotation alb.ingress.kubernetes.io/certificate-arn)."
  value       = aws_acm_certificate_validation.this.certificate_arn
}
