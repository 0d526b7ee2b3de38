variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "http_zip" {
  description = "Path of the HTTP function's zip, as `make lambda` writes it (make -s lambda-zips lists them)."
  type        = string
}

variable "sqs_zip" {
  description = "Path of the SQS function's zip, as `make lambda` writes it (make -s lambda-zips lists them)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets of the functions (they reach Postgres)."
  type        = list(string)
}

variable "http_security_group_id" {
  description = "Security group of the HTTP function (the proxy's)."
  type        = string
}

variable "sqs_security_group_id" {
  description = "Security group of the SQS function (the worker's)."
  type        = string
}

variable "queue_arn" {
  description = "Main queue: the HTTP function sends to it, the SQS function consumes it."
  type        = string
}

variable "queue_url" {
  description = "SQS_QUEUE_URL."
  type        = string
}

variable "dlq_url" {
  description = "SQS_DLQ_URL."
  type        = string
}

variable "dlq_arn" {
  description = "Dead-letter queue ARN."
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the main queue; the SQS function's timeout must be below it."
  type        = number
}

variable "db" {
  description = "Database endpoint, the login secret per service (the HTTP function uses the proxy's, the SQS function the worker's), their KMS key, and the path of the RDS CA bundle in the function's file system."
  type = object({
    host          = string
    port          = number
    name          = string
    secret_arns   = object({ proxy = string, worker = string })
    kms_key_arn   = string
    ssl_root_cert = string
  })
}

variable "vpc_arn" {
  description = "ARN of the VPC (the functions' network interfaces stay in it)."
  type        = string
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the function roles."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the functions' and the HTTP API's log groups, in days."
  type        = number
  default     = 30
}

variable "sqs_max_concurrency" {
  description = "Most concurrent SQS function instances (2..1000): bounds the Postgres connections they open."
  type        = number
  default     = 5

  validation {
    condition     = var.sqs_max_concurrency >= 2 && var.sqs_max_concurrency <= 1000
    error_message = "SQS event source maximum concurrency is 2..1000."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the functions."
  type        = string
  default     = "info"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "require_zips" {
  description = "Refuse to plan when a zip is missing (tests turn it off)."
  type        = bool
  default     = true
}
