output "execution_role_arn" {
  description = "ARN of the ECS task execution role."
  value       = aws_iam_role.execution.arn
}

output "proxy_task_role_arn" {
  description = "ARN of the proxy task role."
  value       = aws_iam_role.proxy.arn
}

output "worker_task_role_arn" {
  description = "ARN of the worker task role."
  value       = aws_iam_role.worker.arn
}

output "operator_role_arn" {
  description = "ARN of the DLQ operator role."
  value       = aws_iam_role.operator.arn
}

output "bastion_instance_profile_name" {
  description = "Instance profile of the bastion (SSM managed instance)."
  value       = aws_iam_instance_profile.bastion.name
}

output "policies" {
  description = "The inline policies as objects (for review and tests): execution, proxy, worker, operator."
  value = {
    execution = local.execution_policy
    proxy     = local.proxy_policy
    worker    = local.worker_policy
    operator  = local.operator_policy
  }
}
