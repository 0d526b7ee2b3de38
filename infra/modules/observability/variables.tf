variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the application log groups, in days."
  type        = number
  default     = 30
}

variable "lambda_function_names" {
  description = "Names of the Lambda functions (empty when Lambda is off), for their error alarms."
  type        = list(string)
  default     = []
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (each must confirm)."
  type        = list(string)
  default     = []
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the proxy target group (CloudWatch dimension TargetGroup)."
  type        = string
}

variable "rds_cpu_threshold_percent" {
  description = "Alarm when database CPU stays above this percentage."
  type        = number
  default     = 80
}

variable "rds_free_storage_threshold_bytes" {
  description = "Alarm when database free storage falls below this many bytes."
  type        = number
  default     = 2147483648 # 2 GiB
}

variable "rds_connections_threshold" {
  description = "Alarm when the database has more connections than this."
  type        = number
  default     = 60
}

variable "queue_name" {
  description = "Name of the main queue."
  type        = string
}

variable "dlq_name" {
  description = "Name of the dead-letter queue."
  type        = string
}

variable "oldest_message_age_threshold_seconds" {
  description = "Alarm when the oldest message in the main queue is older than this."
  type        = number
  default     = 300
}

variable "http_5xx_rate_threshold_percent" {
  description = "Alarm when this percentage of requests ends in a 5xx (ALB or target)."
  type        = number
  default     = 1
}

variable "worker_error_threshold" {
  description = "Alarm when the worker logs more error lines than this in 5 minutes."
  type        = number
  default     = 0
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the ALB (CloudWatch dimension LoadBalancer)."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster name."
  type        = string
}

variable "service_names" {
  description = "ECS service name per service (proxy, worker)."
  type = object({
    proxy  = string
    worker = string
  })
}

variable "db_identifier" {
  description = "RDS instance identifier."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
