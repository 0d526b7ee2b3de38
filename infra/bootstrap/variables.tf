variable "region" {
  description = "Region of the state bucket."
  type        = string
  default     = "us-east-1"
}

variable "state_bucket_name" {
  description = "Globally unique name of the state bucket, e.g. numbers-tfstate-<account id>."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows may assume the CI roles (OIDC)."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false if the account already has one)."
  type        = bool
  default     = true
}

variable "environments" {
  description = "The environments: one GitHub environment, one apply role and one deploy role each."
  type        = list(string)
  default     = ["dev", "staging", "prod"]
}
