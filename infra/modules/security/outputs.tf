output "alb_security_group_id" {
  description = "Security group of the ALB."
  value       = aws_security_group.alb.id
}

output "proxy_security_group_id" {
  description = "Security group of the proxy (ECS tasks, HTTP Lambda)."
  value       = aws_security_group.proxy.id
}

output "worker_security_group_id" {
  description = "Security group of the worker (ECS tasks, SQS Lambda)."
  value       = aws_security_group.worker.id
}

output "rds_security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.rds.id
}

output "bastion_security_group_id" {
  description = "Security group of the bastion."
  value       = aws_security_group.bastion.id
}
