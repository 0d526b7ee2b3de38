variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "cidr_block" {
  description = "CIDR block of the VPC; the four subnets are /20s carved from it."
  type        = string
  default     = "10.0.0.0/16"
}

variable "availability_zones" {
  description = "Exactly two availability zones (a and b)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 2
    error_message = "Give exactly two availability zones."
  }
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints (there is no NAT gateway): the services' APIs, and SSM for the bastion's Session Manager agent."
  type        = list(string)
  default     = ["sqs", "ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "ssmmessages", "ec2messages"]
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the flow-log role (bootstrap output permissions_boundary_arn)."
  type        = string
}
