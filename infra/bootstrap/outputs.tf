output "state_bucket" {
  description = "Bucket to pass to `tofu init -backend-config=bucket=...` in infra/."
  value       = aws_s3_bucket.state.bucket
}

output "state_kms_key_arn" {
  description = "KMS key of the state bucket."
  value       = aws_kms_key.state.arn
}

output "ci_role_arns" {
  description = "Roles for the GitHub workflows (repository variables AWS_INFRA_ROLE_ARN and AWS_DEPLOY_ROLE_ARN)."
  value       = { for k, r in aws_iam_role.ci : k => r.arn }
}
