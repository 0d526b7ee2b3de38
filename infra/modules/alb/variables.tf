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
  description = "Liveness path of the proxy (/healthz: no database or queue dependency, so that an outage of either does not take every task out of the target group)."
  type        = string
  default     = "/healthz"
}

variable "waf_rate_limit_per_5min" {
  description = "WAF: requests per client IP in 5 minutes before it is blocked (the proxy's own per-client limit is finer)."
  type        = number
  default     = 3000

  validation {
    condition     = var.waf_rate_limit_per_5min >= 10
    error_message = "WAF rate-based rules take a limit of at least 10."
  }
}

variable "access_log_retention_days" {
  description = "Days the ALB access logs are kept."
  type        = number
  default     = 90
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
