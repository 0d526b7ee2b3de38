# The CI roles, split by what a workflow may do (infra/README.md, "CI roles"):
#
#   numbers-github-plan          pull requests and pushes to dev/staging/prod:
#                                read everything, write only the state lock
#   numbers-github-apply-<env>   only jobs in the GitHub environment <env>:
#                                change that environment, create roles only
#                                under the permissions boundary
#   numbers-github-deploy-<env>  only jobs in the GitHub environment <env>:
#                                push images to that environment's ECR
#
# Policies are written as locals with jsonencode so that tests/ can assert on
# them (and on every statement of every policy: see the wildcard test).

locals {
  account  = data.aws_caller_identity.current.account_id
  oidc_arn = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:aws:iam::${local.account}:oidc-provider/token.actions.githubusercontent.com"
  repo     = var.github_repository

  boundary_name = "numbers-workload-boundary"
  boundary_arn  = "arn:aws:iam::${local.account}:policy/${local.boundary_name}"
  ci_role_arns  = "arn:aws:iam::${local.account}:role/numbers-github-*"
  bucket_arn    = aws_s3_bucket.state.arn

  # Who may assume which role: the exact OIDC subjects (StringEquals, no
  # wildcard). A pull request can only ever get the plan role.
  subjects = merge(
    {
      plan = concat(["repo:${local.repo}:pull_request"], [for e in var.environments : "repo:${local.repo}:ref:refs/heads/${e}"])
    },
    { for e in var.environments : "apply-${e}" => ["repo:${local.repo}:environment:${e}"] },
    { for e in var.environments : "deploy-${e}" => ["repo:${local.repo}:environment:${e}"] },
  )

  trust_policies = {
    for role, subs in local.subjects : role => {
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Principal = { Federated = local.oidc_arn }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            "token.actions.githubusercontent.com:sub" = subs
          }
        }
      }]
    }
  }

  # What every CI role must never do: touch the CI roles, the boundary, the
  # OIDC provider, or the state bucket's and key's own configuration.
  guard_statements = [
    {
      Sid    = "NoIamWritesOnCiRolesOrBoundary"
      Effect = "Deny"
      Action = [
        "iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary",
        "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
        "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
        "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion",
        "iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
        "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
      ]
      Resource = [
        local.ci_role_arns,
        local.boundary_arn,
        "arn:aws:iam::${local.account}:oidc-provider/token.actions.githubusercontent.com",
      ]
    },
    {
      Sid      = "NoBoundaryRemoval"
      Effect   = "Deny"
      Action   = ["iam:DeleteRolePermissionsBoundary"]
      Resource = ["arn:aws:iam::${local.account}:role/*"]
    },
    {
      Sid    = "NoStateBucketConfiguration"
      Effect = "Deny"
      Action = [
        "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
        "s3:PutLifecycleConfiguration", "s3:PutBucketPublicAccessBlock", "s3:PutBucketAcl", "s3:PutBucketOwnershipControls",
        "s3:DeleteObjectVersion",
      ]
      Resource = [local.bucket_arn, "${local.bucket_arn}/*"]
    },
    {
      Sid    = "NoStateKeyConfiguration"
      Effect = "Deny"
      Action = [
        "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation", "kms:PutKeyPolicy", "kms:CreateGrant",
        "kms:RevokeGrant", "kms:UpdateKeyDescription",
      ]
      Resource = [aws_kms_key.state.arn]
    },
  ]

  plan_policy = {
    Version = "2012-10-17"
    Statement = concat(local.guard_statements, [
      { Sid = "ListState", Effect = "Allow", Action = ["s3:ListBucket"], Resource = [local.bucket_arn] },
      { Sid = "ReadState", Effect = "Allow", Action = ["s3:GetObject"], Resource = ["${local.bucket_arn}/env/*"] },
      {
        # S3-native locking (use_lockfile): the lock is a .tflock object next
        # to the state. It is the only object the plan role may write.
        Sid      = "WriteOnlyTheLock"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:DeleteObject"]
        Resource = ["${local.bucket_arn}/env/*/numbers/terraform.tfstate.tflock"]
      },
      { Sid = "StateKey", Effect = "Allow", Action = ["kms:Decrypt", "kms:GenerateDataKey"], Resource = [aws_kms_key.state.arn] },
      {
        # ReadOnlyAccess reads objects in any bucket: not the state itself
        # beyond the above, and never any secret value.
        Sid      = "NoSecrets"
        Effect   = "Deny"
        Action   = ["secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
        Resource = ["*"]
      },
    ])
  }

  apply_policies = {
    for e in var.environments : e => {
      Version = "2012-10-17"
      Statement = concat(local.guard_statements, [
        { Sid = "ListState", Effect = "Allow", Action = ["s3:ListBucket"], Resource = [local.bucket_arn] },
        {
          Sid      = "OwnState"
          Effect   = "Allow"
          Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
          Resource = ["${local.bucket_arn}/env/${e}/*"]
        },
        {
          # PowerUserAccess reaches every bucket: not the other environments'
          # state, nor the default workspace's.
          Sid      = "NotOtherStates"
          Effect   = "Deny"
          Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
          Resource = concat(["${local.bucket_arn}/numbers/*"], [for o in var.environments : "${local.bucket_arn}/env/${o}/*" if o != e])
        },
        { Sid = "StateKey", Effect = "Allow", Action = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], Resource = [aws_kms_key.state.arn] },
        {
          # Nothing tagged for another environment (every resource of
          # infra/ carries Environment through default_tags).
          Sid       = "NotOtherEnvironments"
          Effect    = "Deny"
          Action    = ["*"]
          Resource  = ["*"]
          Condition = { Null = { "aws:ResourceTag/Environment" = "false" }, StringNotEquals = { "aws:ResourceTag/Environment" = e } }
        },
        {
          Sid       = "NotCreateForOtherEnvironments"
          Effect    = "Deny"
          Action    = ["*"]
          Resource  = ["*"]
          Condition = { Null = { "aws:RequestTag/Environment" = "false" }, StringNotEquals = { "aws:RequestTag/Environment" = e } }
        },
        {
          # Roles of this environment only, and only under the boundary.
          Sid       = "CreateRolesUnderTheBoundary"
          Effect    = "Allow"
          Action    = ["iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"]
          Resource  = ["arn:aws:iam::${local.account}:role/numbers-${e}-*"]
          Condition = { StringEquals = { "iam:PermissionsBoundary" = local.boundary_arn } }
        },
        {
          Sid       = "AttachOnlyTheSsmCore"
          Effect    = "Allow"
          Action    = ["iam:AttachRolePolicy"]
          Resource  = ["arn:aws:iam::${local.account}:role/numbers-${e}-*"]
          Condition = { StringEquals = { "iam:PermissionsBoundary" = local.boundary_arn, "iam:PolicyARN" = ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"] } }
        },
        {
          Sid    = "ManageOwnRoles"
          Effect = "Allow"
          Action = [
            "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
            "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:UpdateRole",
            "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy",
            "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile", "iam:TagInstanceProfile",
            "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
          ]
          Resource = [
            "arn:aws:iam::${local.account}:role/numbers-${e}-*",
            "arn:aws:iam::${local.account}:instance-profile/numbers-${e}-*",
          ]
        },
        {
          Sid      = "PassOwnRolesToTheirServices"
          Effect   = "Allow"
          Action   = ["iam:PassRole"]
          Resource = ["arn:aws:iam::${local.account}:role/numbers-${e}-*"]
          Condition = { StringEquals = { "iam:PassedToService" = [
            "ecs-tasks.amazonaws.com", "lambda.amazonaws.com", "ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com",
          ] } }
        },
        {
          Sid      = "ServiceLinkedRoles"
          Effect   = "Allow"
          Action   = ["iam:CreateServiceLinkedRole"]
          Resource = ["arn:aws:iam::${local.account}:role/aws-service-role/*"]
          Condition = { StringEquals = { "iam:AWSServiceName" = [
            "ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "rds.amazonaws.com", "ecs.application-autoscaling.amazonaws.com",
          ] } }
        },
      ])
    }
  }

  deploy_policies = {
    for e in var.environments : e => {
      Version = "2012-10-17"
      Statement = concat(local.guard_statements, [
        { Sid = "EcrLogin", Effect = "Allow", Action = ["ecr:GetAuthorizationToken"], Resource = "*" },
        {
          Sid    = "EcrPushThisEnvironment"
          Effect = "Allow"
          Action = [
            "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:DescribeImages",
          ]
          Resource = ["arn:aws:ecr:${var.region}:${local.account}:repository/numbers-${e}/*"]
        },
      ])
    }
  }

  # The most any role that the apply roles create may do (its permissions
  # boundary): what the proxy, worker, functions, flow logs and bastion need.
  # No IAM, no STS beyond the session, nothing that creates resources.
  boundary_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "Workloads"
        Effect = "Allow"
        Action = [
          "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
          "sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask",
          "secretsmanager:GetSecretValue", "kms:Decrypt",
          "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
          "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
          "xray:PutTraceSegments", "xray:PutTelemetryRecords",
          "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
          "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
          "rds-db:connect",
          # the bastion's AmazonSSMManagedInstanceCore
          "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument", "ssm:DescribeDocument",
          "ssm:GetManifest", "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems",
          "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus",
          "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
          "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel", "ec2messages:AcknowledgeMessage",
          "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages",
          "ec2messages:SendReply",
        ]
        Resource = "*" # a boundary caps; the roles' own policies name the resources
      },
    ]
  }

  ci_policies = merge(
    { plan = local.plan_policy },
    { for e, p in local.apply_policies : "apply-${e}" => p },
    { for e, p in local.deploy_policies : "deploy-${e}" => p },
  )
}

resource "aws_iam_policy" "boundary" {
  name        = local.boundary_name
  description = "Permissions boundary of every role the numbers apply roles create"
  policy      = jsonencode(local.boundary_policy)
}

resource "aws_iam_role" "ci" {
  for_each = local.subjects

  name                 = "numbers-github-${each.key}"
  assume_role_policy   = jsonencode(local.trust_policies[each.key])
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "ci" {
  for_each = local.ci_policies

  name   = each.key
  role   = aws_iam_role.ci[each.key].id
  policy = jsonencode(each.value)
}

# Planning reads every resource type in infra/.
resource "aws_iam_role_policy_attachment" "plan_read_only" {
  role       = aws_iam_role.ci["plan"].name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

# Applying creates them. PowerUserAccess has no IAM at all: the IAM the apply
# roles get is the inline policy above (own roles, under the boundary).
resource "aws_iam_role_policy_attachment" "apply_power_user" {
  for_each = toset(var.environments)

  role       = aws_iam_role.ci["apply-${each.key}"].name
  policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess"
}
