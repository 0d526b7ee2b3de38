output "execution_role_arn" {
  description = "ARN of the ECS task execution role."
  value       = aws_iam_role.this["execution"].arn
}

output "proxy_task_role_arn" {
  description = "ARN of the proxy task role."
  value       = aws_iam_role.this["proxy"].arn
}

output "worker_task_role_arn" {
  description = "ARN of the worker task role."
  value       = aws_iam_role.this["worker"].arn
}

output "migrate_task_role_arn" {
  description = "ARN of the migrate task role (master secret only)."
  value       = aws_iam_role.this["migrate"].arn
}

output "operator_role_arn" {
  description = "ARN of the DLQ operator role."
  value       = aws_iam_role.this["operator"].arn
}

output "bastion_instance_profile_name" {
  description = "Instance profile of the bastion (SSM managed instance)."
  value       = aws_iam_instance_profile.bastion.name
}

output "policies" {
  description = "The inline policies as objects (for review and tests): execution, proxy, worker, migrate, operator."
  value = {
    execution = local.execution_policy
    proxy     = local.proxy_policy
    worker    = local.worker_policy
    migrate   = local.migrate_policy
    operator  = local.operator_policy
  }
}

output "trust_policies" {
  description = "The trust policies of the service roles, as objects (for review and tests)."
  value = {
    ecs     = jsondecode(local.ecs_trust)
    bastion = local.bastion_trust
  }
}

output "role_boundaries" {
  description = "Permissions boundary per role (every one must carry it)."
  value       = { for k, r in aws_iam_role.this : k => r.permissions_boundary }
}
