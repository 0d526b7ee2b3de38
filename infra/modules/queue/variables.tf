variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "settings" {
  description = "The main queue (the root's var.queue): visibility timeout in seconds, which must match the worker's SQS_VISIBILITY_TIMEOUT (30 s by default) and exceed the SQS Lambda's timeout; receives before a message is moved to the dead-letter queue (1..1000); retention in seconds (4 days by default)."
  type = object({
    visibility_timeout_seconds = optional(number, 30)
    max_receive_count          = optional(number, 5)
    message_retention_seconds  = optional(number, 345600)
  })
  default = {}

  validation {
    condition     = var.settings.max_receive_count >= 1 && var.settings.max_receive_count <= 1000
    error_message = "max_receive_count must be 1..1000."
  }
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
