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

variable "nat_gateway_per_az" {
  description = "One NAT gateway per AZ (resilient, prod) instead of a single shared one (cheaper, dev)."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints instead of the NAT gateway."
  type        = list(string)
  default     = ["sqs", "ecr.api", "ecr.dkr", "logs", "secretsmanager"]
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
