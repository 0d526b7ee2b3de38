variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "subnet_id" {
  description = "Private subnet of the bastion (it needs no public address: SSM works through NAT)."
  type        = string
}

variable "security_group_id" {
  description = "Security group of the bastion (no ingress rules)."
  type        = string
}

variable "instance_profile_name" {
  description = "Instance profile with AmazonSSMManagedInstanceCore."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type of the bastion."
  type        = string
  default     = "t4g.nano"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
