output "security_group_ids" {
  description = "Security group per role: alb, proxy (ECS tasks, HTTP Lambda), worker (ECS tasks, SQS Lambda), rds (the database), bastion."
  value       = local.sg
}
