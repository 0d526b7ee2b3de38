# The CI roles and the state bucket (mocked AWS, plan-level assertions).
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:123456789012:key/state" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::numbers-tfstate-test" }
  }
}

variables {
  state_bucket_name = "numbers-tfstate-test"
  github_repository = "numbers-app/numbers"
}

run "pull_requests_get_only_the_read_only_plan_role" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for role, t in output.policies.trust : [
        for s in t.Statement : [
          for sub in flatten([s.Condition.StringEquals["token.actions.githubusercontent.com:sub"]]) : role == "plan" || !strcontains(sub, ":pull_request")
        ]
      ]
    ]))
    error_message = "Only the plan role may be assumed from a pull_request."
  }

  assert {
    condition     = alltrue([for role, t in output.policies.trust : alltrue([for s in t.Statement : !contains(keys(s.Condition), "StringLike")])])
    error_message = "CI trust policies match OIDC subjects exactly (StringEquals), never with StringLike wildcards."
  }

  assert {
    condition     = !contains(keys(aws_iam_role_policy_attachment.apply_power_user), "plan") && aws_iam_role_policy_attachment.plan_read_only.policy_arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    error_message = "The plan role is read-only (ReadOnlyAccess), without PowerUserAccess."
  }

  assert {
    condition = alltrue(flatten([
      for s in output.policies.ci.plan.Statement : [
        for r in flatten([s.Resource]) : endswith(r, ".tflock")
      ] if s.Effect == "Allow" && length(setintersection(toset(s.Action), toset(["s3:PutObject", "s3:DeleteObject", "s3:*"]))) > 0
    ]))
    error_message = "The plan role may write only the state lock (*.tflock), never the state."
  }
}

run "one_apply_and_one_deploy_role_per_environment" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for e in ["dev", "staging", "prod"] : [
        output.policies.trust["apply-${e}"].Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:numbers-app/numbers:environment:${e}"],
        output.policies.trust["deploy-${e}"].Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:numbers-app/numbers:environment:${e}"],
      ]
    ]))
    error_message = "apply-<env> and deploy-<env> must be trusted only by the GitHub environment <env>."
  }

  assert {
    condition = alltrue(flatten([
      for e in ["dev", "staging", "prod"] : [
        for s in output.policies.ci["deploy-${e}"].Statement : [
          for r in flatten([s.Resource]) : r == "*" || startswith(r, "arn:aws:ecr:us-east-1:123456789012:repository/numbers-${e}/")
        ] if s.Effect == "Allow"
      ]
    ]))
    error_message = "A deploy role may only push to its own environment's repositories."
  }

  assert {
    condition = alltrue(flatten([
      for e in ["dev", "staging", "prod"] : [
        for s in output.policies.ci["apply-${e}"].Statement : [
          for r in flatten([s.Resource]) : !strcontains(r, ":role/") || strcontains(r, ":role/numbers-${e}-") || strcontains(r, ":role/aws-service-role/")
        ] if s.Effect == "Allow"
      ]
    ]))
    error_message = "An apply role may only manage its own environment's roles."
  }
}

run "apply_roles_create_roles_only_under_the_boundary" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for e in ["dev", "staging", "prod"] : [
        for s in output.policies.ci["apply-${e}"].Statement :
        try(s.Condition.StringEquals["iam:PermissionsBoundary"], "") == "arn:aws:iam::123456789012:policy/numbers-workload-boundary"
        if s.Effect == "Allow" && length(setintersection(toset(s.Action), toset(["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"]))) > 0
      ]
    ]))
    error_message = "Creating or extending a role requires the permissions boundary (iam:PermissionsBoundary condition)."
  }

  assert {
    condition = alltrue(flatten([
      for name, p in output.policies.ci : [
        for s in p.Statement : length(try(s.Condition.StringEquals["iam:PassedToService"], [])) > 0
        if s.Effect == "Allow" && contains(s.Action, "iam:PassRole")
      ]
    ]))
    error_message = "iam:PassRole must be limited with iam:PassedToService."
  }

  assert {
    condition = alltrue([
      for name, p in output.policies.ci : anytrue([
        for s in p.Statement : s.Effect == "Deny" && contains(flatten([s.Resource]), "arn:aws:iam::123456789012:role/numbers-github-*") && contains(s.Action, "iam:PutRolePolicy") && contains(s.Action, "iam:UpdateAssumeRolePolicy") && contains(s.Action, "iam:AttachRolePolicy")
      ])
    ])
    error_message = "Every CI role must be denied IAM writes on the CI roles themselves."
  }

  assert {
    condition = alltrue([
      for name, p in output.policies.ci : anytrue([
        for s in p.Statement : s.Effect == "Deny" && contains(s.Action, "iam:DeleteRolePermissionsBoundary")
      ])
    ])
    error_message = "No CI role may remove a permissions boundary."
  }
}

run "no_wildcards_in_allowed_actions_or_resources" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for name, p in output.policies.ci : [
        for s in p.Statement : [for a in flatten([s.Action]) : !strcontains(a, "*")] if s.Effect == "Allow"
      ]
    ]))
    error_message = "No allowed IAM action may contain a wildcard (Deny statements may)."
  }

  assert {
    condition = alltrue(flatten([
      for name, p in output.policies.ci : [
        for s in p.Statement : !contains(flatten([s.Resource]), "*") || flatten([s.Action]) == ["ecr:GetAuthorizationToken"] if s.Effect == "Allow"
      ]
    ]))
    error_message = "Only ecr:GetAuthorizationToken (no resource-level permissions) may be allowed on Resource \"*\"."
  }

  assert {
    condition     = alltrue([for a in output.policies.boundary.Statement[0].Action : !strcontains(a, "*") && !startswith(a, "iam:") && !startswith(a, "sts:")])
    error_message = "The permissions boundary lists actions (no wildcard), and never IAM or STS."
  }
}

run "state_is_encrypted_with_the_state_key" {
  command = plan

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" && one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.state.arn
    error_message = "The state bucket's default encryption is the state KMS key."
  }

  assert {
    condition = anytrue([
      for s in output.policies.state.Statement : s.Effect == "Deny" && try(s.Condition.StringNotEquals["s3:x-amz-server-side-encryption"], "") == "aws:kms"
      ]) && anytrue([
      for s in output.policies.state.Statement : s.Effect == "Deny" && try(s.Condition.StringNotEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"], "") == aws_kms_key.state.arn
    ])
    error_message = "The state bucket must refuse objects encrypted otherwise than with the state key (e.g. the backend's default AES256)."
  }

  assert {
    condition     = anytrue([for s in output.policies.state.Statement : s.Effect == "Deny" && s.Action == "s3:*" && try(s.Condition.Bool["aws:SecureTransport"], "") == "false" && s.Resource == [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]])
    error_message = "The state bucket and its objects must refuse requests without TLS."
  }
}
