# Plans the whole root module with mocked AWS (run once per env/*.tfvars by
# scripts/check.sh) and checks the IAM policies and the wiring.
mock_provider "aws" {
  mock_resource "aws_acm_certificate" {
    defaults = {
      domain_validation_options = [{
        domain_name           = "test.numbers.example.com"
        resource_record_name  = "_x.test.numbers.example.com."
        resource_record_type  = "CNAME"
        resource_record_value = "_y.acm-validations.aws."
      }]
    }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-db-credentials", secret_status = "active", kms_key_id = "" }]
      port               = 5432
    }
  }
  mock_data "aws_region" {
    defaults = { region = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

variables {
  enforce_workspace = false
}

run "no_wildcard_actions_and_least_privilege" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for name, p in module.iam.policies : [
        for s in p.Statement : [for a in s.Action : !strcontains(a, "*")]
      ]
    ]))
    error_message = "No IAM action may contain a wildcard."
  }

  assert {
    condition = alltrue(flatten([
      for name, p in module.iam.policies : [
        for s in p.Statement : s.Resource != "*" || s.Action == ["ecr:GetAuthorizationToken"]
      ]
    ]))
    error_message = "Only ecr:GetAuthorizationToken (no resource-level permissions) may use Resource \"*\"."
  }

  assert {
    condition     = toset(flatten([for s in module.iam.policies.proxy.Statement : s.Action])) == toset(["sqs:SendMessage", "sqs:GetQueueAttributes"])
    error_message = "The proxy may only send to the queue."
  }

  assert {
    condition     = !contains(flatten([for s in module.iam.policies.worker.Statement : s.Action]), "sqs:SendMessage") || alltrue([for s in module.iam.policies.worker.Statement : !contains(s.Action, "sqs:SendMessage") || s.Resource == [module.queue.dlq_arn]])
    error_message = "The worker may send only to the DLQ."
  }
}

run "containers_get_secrets_not_passwords" {
  command = plan

  assert {
    condition     = alltrue([for c in module.ecs.container_definitions : !contains([for e in c.environment : e.name], "PGPASSWORD") && contains([for s in c.secrets : s.name], "PGPASSWORD")])
    error_message = "PGPASSWORD must come from Secrets Manager (ECS secrets), never from plain environment."
  }

  assert {
    condition     = alltrue([for c in module.ecs.container_definitions : c.stopTimeout >= 25])
    error_message = "stopTimeout must leave room for the 20 s graceful shutdown."
  }
}
