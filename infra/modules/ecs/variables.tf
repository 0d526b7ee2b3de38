variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "region" {
  description = "AWS region (AWS_REGION of the containers, awslogs region)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security group per service (proxy, worker); the migrate task runs in the worker's."
  type = object({
    proxy  = string
    worker = string
  })
}

variable "role_arns" {
  description = "IAM roles: the task execution role (execution) and the task role of proxy, worker and migrate (which reads the master secret)."
  type = object({
    execution = string
    proxy     = string
    worker    = string
    migrate   = string
  })
}

variable "images" {
  description = "Image per service (repository URL and tag), e.g. {proxy = \"...dkr.ecr...:abc123\"}. A new tag registers new revisions and rolls the services."
  type = object({
    proxy  = string
    worker = string
  })
}

variable "log_group_names" {
  description = "Log group per service (proxy, worker)."
  type = object({
    proxy  = string
    worker = string
  })
}

variable "target_group_arn" {
  description = "ALB target group of the proxy."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the target group (ALBRequestCountPerTarget)."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the ALB (ALBRequestCountPerTarget)."
  type        = string
}

variable "proxy_port" {
  description = "Container port of the proxy."
  type        = number
  default     = 8080
}

variable "queue_url" {
  description = "SQS_QUEUE_URL."
  type        = string
}

variable "dlq_url" {
  description = "SQS_DLQ_URL."
  type        = string
}

variable "queue_name" {
  description = "Name of the main queue (backlog metric)."
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "SQS_VISIBILITY_TIMEOUT of the worker; equal to the queue's."
  type        = number
  default     = 30
}

variable "db" {
  description = "Database endpoint, each service's login secret (DB_SECRET_ARN), the RDS-managed master secret (migrations only), and the path of the RDS CA bundle in the image."
  type = object({
    host              = string
    port              = number
    name              = string
    secret_arns       = object({ proxy = string, worker = string })
    master_secret_arn = string
    ssl_root_cert     = string
  })
}

variable "migrate_command" {
  description = "Command of the migrate task (proxy image): apply the migrations and exit 0."
  type        = list(string)
  default     = ["migrate"]
}

variable "run_migrations" {
  description = "Run the migrate task (AWS CLI) before the services roll, on each new image. Tests turn it off."
  type        = bool
  default     = true
}

variable "rate_limit_per_client" {
  description = "RATE_LIMIT_PER_CLIENT of the proxy: requests per second per client address (X-Forwarded-For, one ALB hop) to /api."
  type        = number

  validation {
    condition     = var.rate_limit_per_client > 0
    error_message = "The proxy's rate limiter must be on behind the ALB (rate_limit_per_client > 0)."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the services."
  type        = string
  default     = "info"
}

variable "cpu_architecture" {
  description = "ARM64 (Graviton, cheaper) or X86_64; the images must be built for it."
  type        = string
  default     = "ARM64"

  validation {
    condition     = contains(["ARM64", "X86_64"], var.cpu_architecture)
    error_message = "cpu_architecture is ARM64 or X86_64."
  }
}

variable "proxy" {
  description = "Size and scaling of the proxy: task cpu/memory, min/max tasks, target requests per task per minute."
  type = object({
    cpu                 = number
    memory              = number
    min_tasks           = number
    max_tasks           = number
    requests_per_target = number
  })
}

variable "worker" {
  description = "Size and scaling of the worker: task cpu/memory, min/max tasks, target visible messages per running task."
  type = object({
    cpu              = number
    memory           = number
    min_tasks        = number
    max_tasks        = number
    backlog_per_task = number
  })
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
