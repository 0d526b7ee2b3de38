output "state_bucket" {
  description = "Bucket to pass to `tofu init -backend-config=bucket=...` in infra/ (repository variable TF_STATE_BUCKET)."
  value       = aws_s3_bucket.state.bucket
}

output "state_kms_key_arn" {
  description = "KMS key of the state: `tofu init -backend-config=kms_key_id=...` (repository variable TF_STATE_KMS_KEY_ARN)."
  value       = aws_kms_key.state.arn
}

output "permissions_boundary_arn" {
  description = "Permissions boundary every role created by infra/ carries."
  value       = aws_iam_policy.boundary.arn
}

output "ci_role_arns" {
  description = "Roles for the GitHub workflows: plan (repository variable AWS_PLAN_ROLE_ARN), apply-<env> and deploy-<env> (environment variables AWS_APPLY_ROLE_ARN and AWS_DEPLOY_ROLE_ARN of the GitHub environment <env>)."
  value       = { for k, r in aws_iam_role.ci : k => r.arn }
}

output "policies" {
  description = "Every inline policy and trust policy of the CI roles and the boundary, as objects (for review and tests)."
  value = {
    ci       = local.ci_policies
    trust    = local.trust_policies
    boundary = local.boundary_policy
    state    = local.state_bucket_policy
  }
}
