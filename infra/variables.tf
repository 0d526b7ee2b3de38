variable "environment" {
  description = "Environment name; must equal the selected workspace (dev, staging or prod)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment is dev, staging or prod."
  }
}

variable "enforce_workspace" {
  description = "Fail when the selected workspace is not var.environment (guards against applying one environment's variables to another's state). Tests turn it off."
  type        = bool
  default     = true
}

variable "project" {
  description = "Project name, first part of every resource name."
  type        = string
  default     = "numbers"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "availability_zones" {
  description = "Two availability zones of the region."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b"]
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"
}

variable "hosted_zone_id" {
  description = "Route53 hosted zone of the domain."
  type        = string
}

variable "hostname" {
  description = "Public host name of the environment, e.g. dev.numbers.example.com."
  type        = string
}

variable "image_tag" {
  description = "Image tag of proxy and worker: the commit SHA whose images the deploy workflow pushed to this environment's ECR before planning. No default: a plan never points at an image that was not built."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{40}$", var.image_tag))
    error_message = "image_tag is a full commit SHA (the deploy workflow's tag), e.g. -var image_tag=$(git rev-parse HEAD)."
  }
}

variable "run_migrations" {
  description = "Run the migrate task (AWS CLI, scripts/run-migrations.sh) before the services roll to a new image. Tests turn it off."
  type        = bool
  default     = true
}

variable "rate_limit_per_client" {
  description = "RATE_LIMIT_PER_CLIENT of the proxy: requests per second per client (the ALB's X-Forwarded-For hop) to /api."
  type        = number
  default     = 20
}

variable "waf_rate_limit_per_5min" {
  description = "WAF rate-based rule: requests per client IP in 5 minutes before the ALB blocks it."
  type        = number
  default     = 3000
}

variable "db_ssl_root_cert" {
  description = "Path of the RDS CA bundle (global-bundle.pem) in the proxy and worker images: PGSSLROOTCERT, with PGSSLMODE=verify-full."
  type        = string
  default     = "/etc/ssl/certs/rds-global-bundle.pem"
}

variable "lambda_db_ssl_root_cert" {
  description = "Path of the RDS CA bundle in the Lambda functions (the zip is unpacked in /var/task): PGSSLROOTCERT of the functions."
  type        = string
  default     = "/var/task/rds-global-bundle.pem"
}

variable "permissions_boundary_name" {
  description = "Name of the permissions boundary policy created by infra/bootstrap."
  type        = string
  default     = "numbers-workload-boundary"
}

variable "log_level" {
  description = "LOG_LEVEL of the services."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Retention of the application logs, in days."
  type        = number
  default     = 30
}

variable "queue" {
  description = "Queue settings: worker visibility timeout (s), receives before dead-lettering, main queue retention (s)."
  type = object({
    visibility_timeout_seconds = number
    max_receive_count          = number
    message_retention_seconds  = number
  })
  default = {
    visibility_timeout_seconds = 30
    max_receive_count          = 5
    message_retention_seconds  = 345600
  }
}

variable "database" {
  description = "RDS settings per environment."
  type = object({
    instance_class        = string
    allocated_storage     = number
    max_allocated_storage = number
    backup_retention_days = number
    multi_az              = bool
    deletion_protection   = bool
  })
}

variable "proxy" {
  description = "proxy service size and scaling (cpu/memory in Fargate units, min/max tasks, ALB requests per task per minute)."
  type = object({
    cpu                 = number
    memory              = number
    min_tasks           = number
    max_tasks           = number
    requests_per_target = number
  })
}

variable "worker" {
  description = "worker service size and scaling (cpu/memory, min/max tasks, visible messages per task)."
  type = object({
    cpu              = number
    memory           = number
    min_tasks        = number
    max_tasks        = number
    backlog_per_task = number
  })
}

variable "enable_bastion" {
  description = "Run the SSM bastion for database access."
  type        = bool
  default     = false
}

variable "enable_lambda" {
  description = "Also deploy the Lambda path (HTTP API + SQS function)."
  type        = bool
  default     = false
}

variable "lambda_zips" {
  description = "Paths of the Lambda zips, relative to infra/, exactly as `make lambda` writes them (`make -s lambda-zips`; scripts/check.sh compares)."
  type = object({
    http = string
    sqs  = string
  })
  default = {
    http = "../build/lambda/numbers-http-arm64.zip"
    sqs  = "../build/lambda/numbers-sqs-arm64.zip"
  }
}

variable "require_lambda_zips" {
  description = "Refuse to plan the Lambda path when its zips are missing. Tests turn it off."
  type        = bool
  default     = true
}

variable "lambda_sqs_max_concurrency" {
  description = "Most concurrent SQS function instances (protects Postgres)."
  type        = number
  default     = 5
}

variable "alarm_emails" {
  description = "E-mail addresses that receive the alarms; required in prod."
  type        = list(string)
  default     = []
}

variable "operator_principal_arns" {
  description = "Principals allowed to assume the DLQ operator role."
  type        = list(string)
  default     = []
}
