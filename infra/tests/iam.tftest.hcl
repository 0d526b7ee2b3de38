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
  mock_resource "aws_lb" {
    defaults = { arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/numbers/0123456789abcdef" }
  }
}

variables {
  enforce_workspace   = false
  run_migrations      = false
  require_lambda_zips = false
  image_tag           = "0123456789abcdef0123456789abcdef01234567"
}

# output.iam: every IAM policy of every module of the root (the bootstrap's
# are tested in bootstrap/tests), every trust policy, every role's boundary.
run "no_wildcard_actions_and_least_privilege" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for name, p in output.iam.policies : [
        for s in p.Statement : [for a in flatten([s.Action]) : !strcontains(a, "*")] if s.Effect == "Allow"
      ]
    ]))
    error_message = "No allowed IAM action may contain a wildcard."
  }

  assert {
    condition = alltrue(flatten([
      for name, p in output.iam.policies : [
        for s in p.Statement : !contains(flatten([s.Resource]), "*") || length(setsubtract(toset(flatten([s.Action])), toset(["ecr:GetAuthorizationToken", "xray:PutTraceSegments", "xray:PutTelemetryRecords", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]))) == 0 if s.Effect == "Allow"
      ]
    ]))
    error_message = "Only actions without resource-level permissions (ECR login, X-Ray ingestion, EC2 Describe*) may use Resource \"*\"."
  }

  assert {
    condition     = toset(flatten([for s in module.iam.policies.proxy.Statement : s.Action])) == toset(["sqs:SendMessage", "sqs:GetQueueAttributes", "secretsmanager:GetSecretValue", "kms:Decrypt"])
    error_message = "The proxy may only send to the queue and read its database login."
  }

  assert {
    condition     = !contains(flatten([for s in module.iam.policies.worker.Statement : s.Action]), "sqs:SendMessage") || alltrue([for s in module.iam.policies.worker.Statement : !contains(s.Action, "sqs:SendMessage") || s.Resource == [module.queue.dlq_arn]])
    error_message = "The worker may send only to the DLQ."
  }

  assert {
    condition     = length(output.iam.policies) >= (var.enable_lambda ? 8 : 6)
    error_message = "The policy list must cover every module's policies (iam, network, lambda)."
  }
}

run "roles_carry_the_boundary_and_trust_only_this_account" {
  command = plan

  assert {
    condition     = alltrue([for k, b in output.iam.boundaries : b == "arn:aws:iam::123456789012:policy/numbers-workload-boundary"])
    error_message = "Every role carries the permissions boundary (the apply roles cannot create one without it)."
  }

  assert {
    condition = alltrue(flatten([
      for name, t in output.iam.trust : [
        for s in t.Statement : try(s.Condition.StringEquals["aws:SourceAccount"], "") == "123456789012"
        if can(s.Principal.Service) && s.Principal.Service != "ec2.amazonaws.com"
      ]
    ]))
    error_message = "Service trust policies must name aws:SourceAccount (confused deputy)."
  }
}

run "services_read_their_own_login_not_the_master" {
  command = plan

  assert {
    condition     = alltrue([for k, c in module.ecs.container_definitions : !can(c.secrets) && !contains([for e in c.environment : e.name], "PGPASSWORD")])
    error_message = "No password is injected (ECS secrets) or written (environment): the containers read DB_SECRET_ARN themselves."
  }

  assert {
    condition = alltrue([
      for k in ["proxy", "worker"] :
      one([for e in module.ecs.container_definitions[k].environment : e.value if e.name == "DB_SECRET_ARN"]) == module.database.connection.secret_arns[k]
    ])
    error_message = "proxy and worker get DB_SECRET_ARN = their own login's secret, never the master's."
  }

  assert {
    condition     = one([for e in module.ecs.container_definitions.migrate.environment : e.value if e.name == "DB_SECRET_ARN"]) == module.database.connection.master_secret_arn
    error_message = "Only the migrate task uses the master secret."
  }

  assert {
    condition = alltrue([
      for k in ["proxy", "worker", "migrate"] : anytrue([
        for s in module.iam.policies[k].Statement : contains(s.Action, "secretsmanager:GetSecretValue") && s.Resource == [k == "migrate" ? module.database.connection.master_secret_arn : module.database.connection.secret_arns[k]]
      ]) && anytrue([for s in module.iam.policies[k].Statement : contains(s.Action, "kms:Decrypt") && s.Resource == [module.database.connection.kms_key_arn]])
    ])
    error_message = "Each task role reads its own secret (and its KMS key): the app re-reads it after a rotation."
  }

  assert {
    condition     = !contains(flatten([for s in module.iam.policies.execution.Statement : s.Action]), "secretsmanager:GetSecretValue")
    error_message = "The execution role injects no secret any more."
  }

  assert {
    condition = alltrue([
      for k, c in module.ecs.container_definitions :
      one([for e in c.environment : e.value if e.name == "PGSSLMODE"]) == "verify-full" && one([for e in c.environment : e.value if e.name == "PGSSLROOTCERT"]) != ""
    ])
    error_message = "Postgres TLS verifies the server (verify-full) against the RDS CA bundle (PGSSLROOTCERT)."
  }

  assert {
    condition     = alltrue([for k, c in module.ecs.container_definitions : c.stopTimeout >= 25 if k != "migrate"])
    error_message = "stopTimeout must leave room for the 20 s graceful shutdown."
  }

  assert {
    condition = alltrue([
      for k in ["proxy", "worker"] :
      one([for e in module.ecs.container_definitions[k].environment : e.value if e.name == "GOMEMLIMIT"]) == "${floor((k == "proxy" ? var.proxy : var.worker).memory * 0.8)}MiB"
    ])
    error_message = "proxy and worker get GOMEMLIMIT = 80% of their task's memory (MiB)."
  }

  assert {
    condition = alltrue([
      for k in ["proxy", "worker"] :
      one([for e in module.ecs.container_definitions[k].environment : e.value if e.name == "GOMAXPROCS"]) == tostring(max(1, ceil((k == "proxy" ? var.proxy : var.worker).cpu / 1024)))
    ])
    error_message = "proxy and worker get GOMAXPROCS = their task's vCPU rounded up, at least 1 (Go's default rounds under 2 up to 2)."
  }
}

# GOMAXPROCS follows the task's size: a 2 vCPU proxy runs at 2, and a task
# of up to 1 vCPU at 1 (prod's are 0.5), where Go's own default would be 2.
run "gomaxprocs_follows_the_task_size" {
  command = plan

  variables {
    proxy  = { cpu = 2048, memory = 4096, min_tasks = 1, max_tasks = 2, requests_per_target = 24000 }
    worker = { cpu = 1024, memory = 2048, min_tasks = 1, max_tasks = 2, backlog_per_task = 2000 }
  }

  assert {
    condition     = one([for e in module.ecs.container_definitions["proxy"].environment : e.value if e.name == "GOMAXPROCS"]) == "2"
    error_message = "a 2 vCPU proxy runs at GOMAXPROCS=2, not 1."
  }

  assert {
    condition     = one([for e in module.ecs.container_definitions["worker"].environment : e.value if e.name == "GOMAXPROCS"]) == "1"
    error_message = "a 1 vCPU worker runs at GOMAXPROCS=1."
  }
}

run "the_edge_is_protected" {
  command = plan

  assert {
    condition     = module.alb.security.health_check_path == "/healthz"
    error_message = "The target group checks liveness (/healthz), not readiness: a database outage must not empty the target group."
  }

  assert {
    condition     = length(module.alb.security.waf_rate_limits) == 1 && module.alb.security.waf_associated_with == module.alb.alb_arn
    error_message = "A WAFv2 web ACL with a rate-based rule protects the ALB."
  }

  assert {
    condition     = module.alb.security.access_logs_enabled && module.alb.security.access_logs_bucket == module.alb.security.access_logs_bucket_id && module.alb.security.access_logs_sse == "AES256" && !module.alb.security.access_logs_public
    error_message = "ALB access logs go to the private, encrypted access-log bucket."
  }

  assert {
    condition = (
      tonumber(one([for e in module.ecs.container_definitions.proxy.environment : e.value if e.name == "RATE_LIMIT_PER_CLIENT"])) > 0 &&
      one([for e in module.ecs.container_definitions.proxy.environment : e.value if e.name == "TRUST_FORWARDED_FOR"]) == "true"
    )
    error_message = "The proxy limits each client (RATE_LIMIT_PER_CLIENT) identified by the ALB's X-Forwarded-For hop (TRUST_FORWARDED_FOR)."
  }
}

run "alarms_cover_database_and_targets" {
  command = plan

  assert {
    condition     = alltrue([for k in ["rds_cpu", "rds_free_storage", "rds_connections", "unhealthy_hosts", "no_healthy_hosts"] : contains(keys(module.observability.alarms), k)])
    error_message = "RDS (CPU, free storage, connections) and target health alarms exist."
  }

  assert {
    condition     = var.environment != "prod" || length(module.observability.alarm_subscriptions) > 0
    error_message = "Prod alarms reach a subscription."
  }
}

run "prod_without_alarm_subscription_is_refused" {
  command = plan

  variables {
    environment  = "prod"
    alarm_emails = []
  }

  expect_failures = [terraform_data.workspace_guard]
}

run "private_subnets_reach_aws_through_endpoints" {
  command = plan

  assert {
    condition     = length(setsubtract(toset(["ssm", "ssmmessages", "ec2messages", "sqs", "logs", "ecr.api", "ecr.dkr", "secretsmanager"]), toset(module.network.interface_endpoints))) == 0
    error_message = "SSM (bastion) and the services' APIs are reached through interface endpoints: there is no NAT gateway."
  }
}

run "services_roll_out_and_lambda_can_start" {
  command = plan

  assert {
    condition     = module.ecs.services.proxy.wait && module.ecs.services.worker.wait
    error_message = "apply waits for the services to be stable on the new task definition."
  }

  assert {
    condition = !var.enable_lambda || alltrue([
      for k, f in try(module.lambda[0].functions, {}) :
      f.tracing != "Active" || anytrue([for s in module.lambda[0].iam.policies[k].Statement : contains(s.Action, "xray:PutTraceSegments")])
    ])
    error_message = "A function with Active tracing needs xray:PutTraceSegments (AWS refuses to create it otherwise)."
  }

  assert {
    condition = !var.enable_lambda || alltrue([
      for k, f in try(module.lambda[0].functions, {}) :
      f.environment.DB_SECRET_ARN == module.database.connection.secret_arns[k == "http" ? "proxy" : "worker"] && f.environment.PGSSLMODE == "verify-full" && f.environment.PGSSLROOTCERT != ""
    ])
    error_message = "The functions read their service's login (DB_SECRET_ARN) and verify the server."
  }

  assert {
    condition     = !var.enable_lambda || toset([for f in try(module.lambda[0].functions, {}) : f.zip]) == toset(["../build/lambda/numbers-http-arm64.zip", "../build/lambda/numbers-sqs-arm64.zip"])
    error_message = "The functions deploy the zips `make lambda` writes."
  }
}
