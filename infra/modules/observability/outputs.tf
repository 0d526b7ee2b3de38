output "log_group_names" {
  description = "Log group name per ECS service (proxy, worker)."
  value       = { for k, g in aws_cloudwatch_log_group.service : k => g.name }
}

output "log_group_arns" {
  description = "ARNs of the ECS service log groups."
  value       = [for g in aws_cloudwatch_log_group.service : g.arn]
}

output "lambda_log_group_arns" {
  description = "Log group ARN per Lambda function name."
  value       = { for k, g in aws_cloudwatch_log_group.lambda : k => g.arn }
}

output "alarm_topic_arn" {
  description = "SNS topic that receives every alarm."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
