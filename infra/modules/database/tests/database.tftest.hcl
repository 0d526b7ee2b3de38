mock_provider "aws" {
  mock_resource "aws_db_instance" {
    defaults = {
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-db-credentials", secret_status = "active", kms_key_id = "" }]
    }
  }
}

variables {
  name              = "numbers-test"
  subnet_ids        = ["subnet-a", "subnet-b"]
  security_group_id = "sg-rds"
}

run "database_is_private_encrypted_and_backed_up" {
  command = plan

  assert {
    condition     = aws_db_instance.this.storage_encrypted
    error_message = "RDS storage must be encrypted."
  }

  assert {
    condition     = !aws_db_instance.this.publicly_accessible
    error_message = "RDS must not be publicly accessible."
  }

  assert {
    condition     = aws_db_instance.this.manage_master_user_password && aws_db_instance.this.password == null
    error_message = "The master password must be managed by RDS in Secrets Manager, never passed in."
  }

  assert {
    condition     = aws_db_instance.this.backup_retention_period >= 1
    error_message = "Backups must be kept."
  }

  assert {
    condition     = one([for p in aws_db_parameter_group.this.parameter : p.value if p.name == "rds.force_ssl"]) == "1"
    error_message = "TLS must be enforced (rds.force_ssl=1)."
  }
}

run "prod_settings_protect_the_database" {
  command = plan

  variables {
    settings = {
      multi_az              = true
      deletion_protection   = true
      backup_retention_days = 14
    }
  }

  assert {
    condition     = aws_db_instance.this.multi_az && aws_db_instance.this.deletion_protection && !aws_db_instance.this.skip_final_snapshot
    error_message = "Prod: multi-AZ, deletion protection and a final snapshot."
  }
}

run "backups_cannot_be_turned_off" {
  command = plan

  variables {
    settings = { backup_retention_days = 0 }
  }

  expect_failures = [var.settings]
}

run "clients_can_verify_the_server_and_logs_expire" {
  command = plan

  assert {
    condition     = aws_db_instance.this.ca_cert_identifier == "rds-ca-rsa2048-g1"
    error_message = "Pin the server certificate's CA, so that verify-full against the RDS bundle holds."
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_log_group.exports)) == toset(aws_db_instance.this.enabled_cloudwatch_logs_exports) && alltrue([for g in aws_cloudwatch_log_group.exports : g.retention_in_days > 0 && g.name == "/aws/rds/instance/numbers-test/${split("/", g.name)[5]}"])
    error_message = "Every exported RDS log group is created here with a retention (RDS would create it without one)."
  }
}

run "services_have_their_own_logins" {
  command = plan

  assert {
    condition     = toset(keys(aws_secretsmanager_secret.login)) == toset(["proxy", "worker"]) && alltrue([for s in aws_secretsmanager_secret.login : s.kms_key_id == aws_kms_key.secrets.arn])
    error_message = "proxy and worker each have a login secret, encrypted with the database secrets key."
  }

  assert {
    condition     = aws_db_instance.this.master_user_secret_kms_key_id == aws_kms_key.secrets.arn
    error_message = "The master secret is encrypted with the database secrets key."
  }
}
