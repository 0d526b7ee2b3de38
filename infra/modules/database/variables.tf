variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two AZs) for the DB subnet group."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the database."
  type        = string
}

variable "engine_version" {
  description = "Postgres major version (minor versions are upgraded automatically)."
  type        = string
  default     = "17"
}

variable "settings" {
  description = "Size, backups and protection of the instance (the root's var.database): instance class, initial and ceiling storage in GiB (autoscaling), days of automated backups (1-35), a standby in a second AZ and refusal of deletion (both prod)."
  type = object({
    instance_class        = optional(string, "db.t4g.micro")
    allocated_storage     = optional(number, 20)
    max_allocated_storage = optional(number, 100)
    backup_retention_days = optional(number, 7)
    multi_az              = optional(bool, false)
    deletion_protection   = optional(bool, false)
  })
  default = {}

  validation {
    condition     = var.settings.backup_retention_days >= 1 && var.settings.backup_retention_days <= 35
    error_message = "Backups must be kept: 1 to 35 days."
  }
}

variable "db_name" {
  description = "Name of the application database."
  type        = string
  default     = "numbers"
}

variable "master_username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager."
  type        = string
  default     = "numbers"
}

variable "ca_cert_identifier" {
  description = "RDS certificate authority of the server certificate (clients verify it: sslmode=verify-full with the RDS CA bundle)."
  type        = string
  default     = "rds-ca-rsa2048-g1"
}

variable "log_retention_days" {
  description = "Retention of the exported Postgres logs, in days."
  type        = number
  default     = 30
}

variable "service_logins" {
  description = "Login role per service; each gets a Secrets Manager secret <name>/db/<service> for its credentials."
  type        = map(string)
  default = {
    proxy  = "numbers_proxy_login"
    worker = "numbers_worker_login"
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
