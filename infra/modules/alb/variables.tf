variable "name" {
  description = "Prefix for resource names, e.g. numbers-dev."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the target group."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets (two AZs) of the ALB."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the ALB."
  type        = string
}

variable "proxy_port" {
  description = "Container port of the proxy."
  type        = number
  default     = 8080
}

variable "health_check_path" {
  description = "Readiness path of the proxy."
  type        = string
  default     = "/readyz"
}

variable "hosted_zone_id" {
  description = "Route53 hosted zone that holds the record and the certificate validation records."
  type        = string
}

variable "hostname" {
  description = "Fully qualified name of the environment, e.g. dev.numbers.example.com."
  type        = string
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener (TLS 1.2 and 1.3 only)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "deletion_protection" {
  description = "Refuse deletion of the load balancer (prod)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
