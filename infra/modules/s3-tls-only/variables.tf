variable "bucket_arn" {
  description = "ARN of the bucket the policy belongs to."
  type        = string
}
