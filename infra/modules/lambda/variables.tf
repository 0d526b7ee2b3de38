variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "http_zip" {
  description = "Path of the HTTP function's zip (make lambda: build/lambda/http.zip)."
  type        = string
}

variable "sqs_zip" {
  description = "Path of the SQS function's zip (make lambda: build/lambda/sqs.zip)."
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
  description = "Database endpoint and the ARN of the RDS-managed secret."
  type = object({
    host       = string
    port       = number
    name       = string
    secret_arn = string
  })
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

variable "log_group_arns" {
  description = "Log group ARN per function name (created by the observability module)."
  type        = map(string)
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
