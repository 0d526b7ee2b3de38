output "alb_security_group_id" {
  description = "Security group of the ALB."
  value       = aws_security_group.this["alb"].id
}

output "proxy_security_group_id" {
  description = "Security group of the proxy (ECS tasks, HTTP Lambda)."
  value       = aws_security_group.this["proxy"].id
}

output "worker_security_group_id" {
  description = "Security group of the worker (ECS tasks, SQS Lambda)."
  value       = aws_security_group.this["worker"].id
}

output "rds_security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.this["rds"].id
}

output "bastion_security_group_id" {
  description = "Security group of the bastion."
  value       = aws_security_group.this["bastion"].id
}
