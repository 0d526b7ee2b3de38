variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "queue_arn" {
  description = "ARN of the main SQS queue."
  type        = string
}

variable "dlq_arn" {
  description = "ARN of the dead-letter queue."
  type        = string
}

variable "db_master_secret_arn" {
  description = "ARN of the RDS-managed master user secret (read only by the migrate task)."
  type        = string
}

variable "db_login_secret_arns" {
  description = "Secret ARN of each service's database login (proxy, worker)."
  type = object({
    proxy  = string
    worker = string
  })
}

variable "db_secrets_kms_key_arn" {
  description = "KMS key that encrypts the database secrets."
  type        = string
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of every role created here (bootstrap output permissions_boundary_arn)."
  type        = string
}

variable "log_group_arns" {
  description = "Log groups the ECS task execution role may write to."
  type        = list(string)
}

variable "ecr_repository_arns" {
  description = "ECR repositories the task execution role may pull from."
  type        = list(string)
}

variable "operator_principal_arns" {
  description = "IAM principals (users or roles, e.g. an SSO role) allowed to assume the DLQ operator role. Empty: the account root, i.e. whoever the account's IAM policies allow."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
