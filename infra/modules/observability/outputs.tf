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
    { for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name },
    { http_5xx_rate = aws_cloudwatch_metric_alarm.http_5xx_rate.alarm_name },
    { for k, a in aws_cloudwatch_metric_alarm.lambda_errors : "lambda_errors_${k}" => a.alarm_name },
  )
}

output "alarm_subscriptions" {
  description = "Endpoints subscribed to the alarm topic."
  value       = [for s in aws_sns_topic_subscription.email : s.endpoint]
}
