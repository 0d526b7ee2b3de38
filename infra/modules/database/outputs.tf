output "connection" {
  description = "What the database's clients need: the endpoint (host, port), the application database's name, the Secrets Manager secret of each service's login (secret_arns, the DB_SECRET_ARN of that service), the RDS-managed master user secret (JSON username and password; migrations and operators only), and the KMS key of these secrets (readers need kms:Decrypt through Secrets Manager)."
  value = {
    host              = aws_db_instance.this.address
    port              = aws_db_instance.this.port
    name              = aws_db_instance.this.db_name
    secret_arns       = { for k, s in aws_secretsmanager_secret.login : k => s.arn }
    master_secret_arn = aws_db_instance.this.master_user_secret[0].secret_arn
    kms_key_arn       = aws_kms_key.secrets.arn
  }
}

output "identifier" {
  description = "RDS instance identifier (for CloudWatch dimensions)."
  value       = aws_db_instance.this.identifier
}

output "resource_id" {
  description = "RDS resource id (dbi-resource-id, for rds-db:connect should IAM authentication be used)."
  value       = aws_db_instance.this.resource_id
}
