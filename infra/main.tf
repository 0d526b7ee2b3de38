locals {
  name = "${var.project}-${var.environment}"
  tags = {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "opentofu"
  }
  lambda_names = var.enable_lambda ? ["${local.name}-http", "${local.name}-sqs"] : []

  # Created by infra/bootstrap; every role here carries it, and the apply
  # roles cannot create a role without it.
  permissions_boundary_arn = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:policy/${var.permissions_boundary_name}"
}

data "aws_caller_identity" "current" {}

# One workspace per environment: refuse to plan prod.tfvars into dev's state.
resource "terraform_data" "workspace_guard" {
  lifecycle {
    precondition {
      condition     = !var.enforce_workspace || terraform.workspace == var.environment
      error_message = "Selected workspace \"${terraform.workspace}\" does not match environment \"${var.environment}\": run `tofu workspace select ${var.environment}`."
    }
    # Prod alarms must reach someone.
    precondition {
      condition     = var.environment != "prod" || length(var.alarm_emails) > 0
      error_message = "prod requires an alarm subscription: set alarm_emails in env/prod.tfvars."
    }
  }
}

module "network" {
  source = "./modules/network"

  name                     = local.name
  cidr_block               = var.vpc_cidr
  availability_zones       = var.availability_zones
  permissions_boundary_arn = local.permissions_boundary_arn
  tags                     = local.tags
}

module "security" {
  source = "./modules/security"

  name                        = local.name
  vpc_id                      = module.network.vpc_id
  endpoints_security_group_id = module.network.endpoints_security_group_id
  s3_prefix_list_id           = module.network.s3_prefix_list_id
  tags                        = local.tags
}

module "queue" {
  source = "./modules/queue"

  name     = local.name
  settings = var.queue
  tags     = local.tags
}

module "database" {
  source = "./modules/database"

  name               = local.name
  subnet_ids         = module.network.private_subnet_ids
  security_group_id  = module.security.security_group_ids.rds
  settings           = var.database
  log_retention_days = var.log_retention_days
  tags               = local.tags
}

module "ecr" {
  source = "./modules/ecr"

  name = local.name
  tags = local.tags
}

module "observability" {
  source = "./modules/observability"

  name                  = local.name
  log_retention_days    = var.log_retention_days
  lambda_function_names = local.lambda_names
  alarm_emails          = var.alarm_emails
  # (prod refuses to plan without alarm_emails: terraform_data.workspace_guard)
  target_group_arn_suffix = module.alb.target_group_arn_suffix
  queue_name              = module.queue.queue_name
  dlq_name                = module.queue.dlq_name
  alb_arn_suffix          = module.alb.alb_arn_suffix
  cluster_name            = module.ecs.cluster_name
  service_names           = { for k, s in module.ecs.services : k => s.name }
  db_identifier           = module.database.identifier
  tags                    = local.tags
}

module "iam" {
  source = "./modules/iam"

  name                     = local.name
  queue_arn                = module.queue.queue_arn
  dlq_arn                  = module.queue.dlq_arn
  db_master_secret_arn     = module.database.connection.master_secret_arn
  db_login_secret_arns     = module.database.connection.secret_arns
  db_secrets_kms_key_arn   = module.database.connection.kms_key_arn
  permissions_boundary_arn = local.permissions_boundary_arn
  log_group_arns           = module.observability.log_group_arns
  ecr_repository_arns      = values(module.ecr.repository_arns)
  operator_principal_arns  = var.operator_principal_arns
  tags                     = local.tags
}

module "alb" {
  source = "./modules/alb"

  name                    = local.name
  vpc_id                  = module.network.vpc_id
  public_subnet_ids       = module.network.public_subnet_ids
  security_group_id       = module.security.security_group_ids.alb
  hosted_zone_id          = var.hosted_zone_id
  hostname                = var.hostname
  deletion_protection     = var.database.deletion_protection
  waf_rate_limit_per_5min = var.waf_rate_limit_per_5min
  tags                    = local.tags
}

module "ecs" {
  source = "./modules/ecs"

  name               = local.name
  region             = var.region
  private_subnet_ids = module.network.private_subnet_ids
  security_group_ids = {
    proxy  = module.security.security_group_ids.proxy
    worker = module.security.security_group_ids.worker
  }
  role_arns             = { for k in ["execution", "proxy", "worker", "migrate"] : k => module.iam.role_arns[k] }
  run_migrations        = var.run_migrations
  rate_limit_per_client = var.rate_limit_per_client
  images = {
    proxy  = "${module.ecr.repository_urls["proxy"]}:${var.image_tag}"
    worker = "${module.ecr.repository_urls["worker"]}:${var.image_tag}"
  }
  log_group_names            = module.observability.log_group_names
  target_group_arn           = module.alb.target_group_arn
  target_group_arn_suffix    = module.alb.target_group_arn_suffix
  alb_arn_suffix             = module.alb.alb_arn_suffix
  queue_url                  = module.queue.queue_url
  dlq_url                    = module.queue.dlq_url
  queue_name                 = module.queue.queue_name
  visibility_timeout_seconds = var.queue.visibility_timeout_seconds
  db = merge(module.database.connection, {
    ssl_root_cert = var.db_ssl_root_cert
  })
  log_level = var.log_level
  proxy     = var.proxy
  worker    = var.worker
  tags      = local.tags

  # The HTTPS listener must exist before the service registers targets.
  depends_on = [module.alb]
}

module "bastion" {
  source = "./modules/bastion"
  count  = var.enable_bastion ? 1 : 0

  name                  = local.name
  subnet_id             = module.network.private_subnet_ids[0]
  security_group_id     = module.security.security_group_ids.bastion
  instance_profile_name = module.iam.bastion_instance_profile_name
  tags                  = local.tags
}

module "lambda" {
  source = "./modules/lambda"
  count  = var.enable_lambda ? 1 : 0

  name                       = local.name
  http_zip                   = var.lambda_zips.http
  sqs_zip                    = var.lambda_zips.sqs
  private_subnet_ids         = module.network.private_subnet_ids
  http_security_group_id     = module.security.security_group_ids.proxy
  sqs_security_group_id      = module.security.security_group_ids.worker
  queue_arn                  = module.queue.queue_arn
  queue_url                  = module.queue.queue_url
  dlq_arn                    = module.queue.dlq_arn
  dlq_url                    = module.queue.dlq_url
  visibility_timeout_seconds = var.queue.visibility_timeout_seconds
  db = merge(module.database.connection, {
    ssl_root_cert = var.lambda_db_ssl_root_cert
  })
  vpc_arn                  = module.network.vpc_arn
  permissions_boundary_arn = local.permissions_boundary_arn
  require_zips             = var.require_lambda_zips
  sqs_max_concurrency      = var.lambda_sqs_max_concurrency
  log_retention_days       = var.log_retention_days
  log_level                = var.log_level
  tags                     = local.tags
}
