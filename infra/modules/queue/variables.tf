variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the main queue; must match the worker's SQS_VISIBILITY_TIMEOUT (30 s by default) and exceed the SQS Lambda's timeout."
  type        = number
  default     = 30
}

variable "max_receive_count" {
  description = "Receives before a message is moved to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be 1..1000."
  }
}

variable "message_retention_seconds" {
  description = "Retention of the main queue."
  type        = number
  default     = 345600 # 4 days
}

variable "dlq_message_retention_seconds" {
  description = "Retention of the dead-letter queue; longer than the main queue's so that a message's age there still leaves time to replay it."
  type        = number
  default     = 1209600 # 14 days, the SQS maximum
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
