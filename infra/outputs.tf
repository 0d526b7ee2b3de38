output "url" {
  description = "Public URL of the environment."
  value       = module.alb.url
}

output "ecr_repository_urls" {
  description = "ECR repository per image (the deploy workflow pushes here)."
  value       = module.ecr.repository_urls
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.ecs.cluster_name
}

output "services" {
  description = "ECS service name per image."
  value       = { for k, s in module.ecs.services : k => s.name }
}

output "task_definition_families" {
  description = "Task definition family per image."
  value       = module.ecs.task_definition_families
}

output "queue_urls" {
  description = "Main queue and dead-letter queue URLs."
  value = {
    main = module.queue.queue_url
    dlq  = module.queue.dlq_url
  }
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret of the database master user (managed and rotated by RDS): migrations and administration only."
  value       = module.database.connection.master_secret_arn
}

output "db_login_secret_arns" {
  description = "Secret per service login (DB_SECRET_ARN of proxy/HTTP function and worker/SQS function); set their values once (infra/README.md, Database logins)."
  value       = module.database.connection.secret_arns
}

output "db_address" {
  description = "Host name of the database."
  value       = module.database.connection.host
}

output "operator_role_arn" {
  description = "Role to assume for DLQ inspection and replay."
  value       = module.iam.role_arns["operator"]
}

output "bastion_instance_id" {
  description = "Bastion instance for `aws ssm start-session` (null when disabled)."
  value       = one(module.bastion[*].instance_id)
}

output "lambda" {
  description = "Lambda function names and HTTP API endpoint (null when disabled)."
  value = var.enable_lambda ? {
    functions    = module.lambda[0].function_names
    api_endpoint = module.lambda[0].api_endpoint
  } : null
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.observability.alarm_topic_arn
}

output "iam" {
  description = "Every IAM policy, trust policy and role boundary of every module, as objects (for review and tests; the bootstrap's are its own output)."
  value = {
    policies = merge(
      module.iam.policies,
      { for k, p in module.network.iam.policies : "network-${k}" => p },
      var.enable_lambda ? { for k, p in module.lambda[0].iam.policies : "lambda-${k}" => p } : {},
    )
    trust = merge(
      module.iam.trust_policies,
      { for k, t in module.network.iam.trust : "network-${k}" => t },
      var.enable_lambda ? { for k, t in module.lambda[0].iam.trust : "lambda-${k}" => t } : {},
    )
    boundaries = merge(
      module.iam.role_boundaries,
      var.enable_lambda ? { for k, b in module.lambda[0].iam.boundaries : "lambda-${k}" => b } : {},
    )
  }
}
