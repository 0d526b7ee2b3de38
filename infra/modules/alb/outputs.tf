output "alb_arn" {
  description = "ARN of the ALB."
  value       = aws_lb.this.arn
}

output "alb_arn_suffix" {
  description = "ARN suffix of the ALB (CloudWatch dimension)."
  value       = aws_lb.this.arn_suffix
}

output "alb_dns_name" {
  description = "DNS name of the ALB."
  value       = aws_lb.this.dns_name
}

output "target_group_arn" {
  description = "Target group of the proxy service."
  value       = aws_lb_target_group.proxy.arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (request-count scaling)."
  value       = aws_lb_target_group.proxy.arn_suffix
}

output "https_listener_arn" {
  description = "HTTPS listener (the service depends on it)."
  value       = aws_lb_listener.https.arn
}

output "url" {
  description = "Public URL of the environment."
  value       = "https://${var.hostname}"
}
