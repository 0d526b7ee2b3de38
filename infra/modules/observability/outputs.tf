output "log_group_names" {
  description = "Log group name per ECS service (proxy, worker)."
  value       = { for k, g in aws_cloudwatch_log_group.service : k => g.name }
}

output "log_group_arns" {
  description = "ARNs of the ECS service log groups."
  value       = [for g in aws_cloudwatch_log_group.service : g.arn]
}

output "alarm_topic_arn" {
  description = "SNS topic that receives every alarm."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "alarms" {
  description = "Alarm name per alarm kind (for review and tests)."
  value = merge(
    { for k, a in aws_cloudwatch_metric_alarm.rds : "rds_${k}" => a.alarm_name },
    {
      unhealthy_hosts  = aws_cloudwatch_metric_alarm.unhealthy_hosts.alarm_name
      no_healthy_hosts = aws_cloudwatch_metric_alarm.no_healthy_hosts.alarm_name
      dlq_not_empty    = aws_cloudwatch_metric_alarm.dlq_not_empty.alarm_name
    },
  )
}

output "alarm_subscriptions" {
  description = "Endpoints subscribed to the alarm topic."
  value       = [for s in aws_sns_topic_subscription.email : s.endpoint]
}
