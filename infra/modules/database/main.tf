locals {
  log_exports = ["postgresql", "upgrade"]
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-pg${var.engine_version}-"
  family      = "postgres${var.engine_version}"
  description = "numbers: TLS enforced, slow statements logged"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }

  lifecycle {
    create_before_destroy = true
  }

  tags = var.tags
}

#tfsec:ignore:aws-rds-enable-performance-insights-encryption Performance Insights data is encrypted with the AWS-managed aws/rds key, like the storage
resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.settings.instance_class

  db_name  = var.db_name
  username = var.master_username
  # The password never passes through Terraform: RDS generates it and keeps
  # it (rotated) in a Secrets Manager secret, exported as master_user_secret,
  # encrypted with this module's key. Only migrations and operators use it.
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.secrets.arn

  # Clients verify the server (sslmode=verify-full) against this CA, whose
  # bundle is https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem.
  ca_cert_identifier = var.ca_cert_identifier

  allocated_storage     = var.settings.allocated_storage
  max_allocated_storage = var.settings.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [var.security_group_id]
  publicly_accessible    = false
  multi_az               = var.settings.multi_az
  parameter_group_name   = aws_db_parameter_group.this.name

  backup_retention_period   = var.settings.backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = var.settings.deletion_protection
  skip_final_snapshot       = !var.settings.deletion_protection
  final_snapshot_identifier = var.settings.deletion_protection ? "${var.name}-final" : null

  auto_minor_version_upgrade          = true
  iam_database_authentication_enabled = true
  performance_insights_enabled        = true
  enabled_cloudwatch_logs_exports     = local.log_exports

  tags = var.tags

  # The log groups (with their retention) exist before RDS exports to them;
  # otherwise RDS creates them, kept forever.
  depends_on = [aws_cloudwatch_log_group.exports]
}

resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(local.log_exports)

  name              = "/aws/rds/instance/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# ---- secrets: the master's (RDS-managed) and one per service login ----
resource "aws_kms_key" "secrets" {
  description         = "${var.name} database secrets"
  enable_key_rotation = true
  tags                = var.tags
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.name}-db-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

# The services do not connect as the master: each has a login role
# (numbers_proxy_login, numbers_worker_login; members of the NOLOGIN roles
# numbers_proxy / numbers_worker that the migrations create) whose
# credentials live here, as JSON {"username", "password"} like the RDS
# secret. Terraform creates the secrets but never their value (it would land
# in the state): infra/README.md "Database logins" sets them.
resource "aws_secretsmanager_secret" "login" {
  for_each = var.service_logins

  name                    = "${var.name}/db/${each.key}"
  description             = "Postgres login of the ${each.key} (role ${each.value}); value set by the operator, see infra/README.md"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = 7
  tags                    = var.tags
}
