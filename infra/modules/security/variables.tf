variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "vpc_id" {
  description = "VPC that holds the security groups."
  type        = string
}

variable "proxy_port" {
  description = "Container port the proxy listens on (HTTP_ADDR)."
  type        = number
  default     = 8080
}

variable "db_port" {
  description = "Postgres port."
  type        = number
  default     = 5432
}

variable "endpoints_security_group_id" {
  description = "Security group of the interface VPC endpoints (SQS, ECR, logs, Secrets Manager)."
  type        = string
}

variable "s3_prefix_list_id" {
  description = "Prefix list of the S3 gateway endpoint (ECR image layers)."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
