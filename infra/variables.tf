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

variable "nat_gateway_per_az" {
  description = "One NAT gateway per AZ (prod) instead of one shared."
  type        = bool
  default     = false
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
  description = "Image tag (commit SHA) for the first task definitions; later deploys come from the deploy workflow."
  type        = string
  default     = "bootstrap"
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
  description = "Paths of the Lambda zips built by `make lambda`."
  type = object({
    http = string
    sqs  = string
  })
  default = {
    http = "../build/lambda/http.zip"
    sqs  = "../build/lambda/sqs.zip"
  }
}

variable "lambda_sqs_max_concurrency" {
  description = "Most concurrent SQS function instances (protects Postgres)."
  type        = number
  default     = 5
}

variable "alarm_emails" {
  description = "E-mail addresses that receive the alarms."
  type        = list(string)
  default     = []
}

variable "operator_principal_arns" {
  description = "Principals allowed to assume the DLQ operator role."
  type        = list(string)
  default     = []
}
