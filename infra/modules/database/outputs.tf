output "address" {
  description = "Host name of the database endpoint."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database endpoint."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Name of the application database."
  value       = aws_db_instance.this.db_name
}

output "identifier" {
  description = "RDS instance identifier (for CloudWatch dimensions)."
  value       = aws_db_instance.this.identifier
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret (JSON with username and password) of the master user, managed by RDS: migrations and operators only."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "secrets_kms_key_arn" {
  description = "KMS key of the master secret and the login secrets (readers need kms:Decrypt through Secrets Manager)."
  value       = aws_kms_key.secrets.arn
}

output "login_secret_arns" {
  description = "Secret ARN per service login (DB_SECRET_ARN of that service)."
  value       = { for k, s in aws_secretsmanager_secret.login : k => s.arn }
}

output "login_users" {
  description = "Login role per service."
  value       = var.service_logins
}

output "resource_id" {
  description = "RDS resource id (dbi-resource-id, for rds-db:connect should IAM authentication be used)."
  value       = aws_db_instance.this.resource_id
}

output "log_group_retention" {
  description = "Retention (days) per exported Postgres log group."
  value       = { for k, g in aws_cloudwatch_log_group.exports : k => g.retention_in_days }
}
