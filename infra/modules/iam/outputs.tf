output "role_arns" {
  description = "ARN per role: execution (ECS task execution), proxy, worker, migrate (task roles; migrate reads only the master secret), operator (DLQ replay), bastion."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "bastion_instance_profile_name" {
  description = "Instance profile of the bastion (SSM managed instance)."
  value       = aws_iam_instance_profile.bastion.name
}

output "policies" {
  description = "The inline policies as objects (for review and tests): execution, proxy, worker, migrate, operator."
  value       = merge({ for k, r in local.ecs_roles : k => r.policy }, { operator = local.operator_policy })
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
