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
  value = {
    proxy  = module.ecs.proxy_service_name
    worker = module.ecs.worker_service_name
  }
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

output "db_secret_arn" {
  description = "Secrets Manager secret with the database credentials (managed by RDS)."
  value       = module.database.master_user_secret_arn
}

output "operator_role_arn" {
  description = "Role to assume for DLQ inspection and replay."
  value       = module.iam.operator_role_arn
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
