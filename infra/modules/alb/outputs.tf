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

output "security" {
  description = "Health check path, WAF and access-log settings (for review and tests)."
  value = {
    health_check_path     = one(aws_lb_target_group.proxy.health_check).path
    waf_rate_limits       = [for r in jsondecode(aws_wafv2_web_acl.this.rule_json) : r.Statement.RateBasedStatement.Limit if can(r.Statement.RateBasedStatement.Limit) && can(r.Action.Block)]
    waf_associated_with   = aws_wafv2_web_acl_association.this.resource_arn
    access_logs_enabled   = one(aws_lb.this.access_logs).enabled
    access_logs_bucket    = one(aws_lb.this.access_logs).bucket
    access_logs_bucket_id = aws_s3_bucket.access_logs.id
    access_logs_sse       = one(one(aws_s3_bucket_server_side_encryption_configuration.access_logs.rule).apply_server_side_encryption_by_default).sse_algorithm
    access_logs_public    = !(aws_s3_bucket_public_access_block.access_logs.block_public_acls && aws_s3_bucket_public_access_block.access_logs.block_public_policy && aws_s3_bucket_public_access_block.access_logs.ignore_public_acls && aws_s3_bucket_public_access_block.access_logs.restrict_public_buckets)
  }
}
