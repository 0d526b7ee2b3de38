# Policies are written with jsonencode (not aws_iam_policy_document) so that
# their content is known at plan time and the offline tests can assert on it.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  ecs_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })

  # Task execution role: pull images and write logs. It reads no secret: the
  # containers read their database login themselves (DB_SECRET_ARN), so that
  # they can read it again after a rotation.
  execution_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "EcrAuth"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*" # this action has no resource-level permissions
      },
      {
        Sid      = "EcrPull"
        Effect   = "Allow"
        Action   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
        Resource = var.ecr_repository_arns
      },
      {
        Sid      = "Logs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = [for arn in var.log_group_arns : "${arn}:*"]
      },
    ]
  }

  # Reading one database secret: the value, and the key through Secrets
  # Manager only.
  db_secret_statements = {
    for k, arn in merge(var.db_login_secret_arns, { migrate = var.db_master_secret_arn }) : k => [
      { Sid = "DbSecret", Effect = "Allow", Action = ["secretsmanager:GetSecretValue"], Resource = [arn] },
      {
        Sid       = "DbSecretKey"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = [var.db_secrets_kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.${data.aws_region.current.region}.amazonaws.com" } }
      },
    ]
  }

  # proxy: only enqueue.
  proxy_policy = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "Enqueue"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
        Resource = [var.queue_arn]
      },
      {
        # GET /api/stats shows the dead-letter queue's depth.
        Sid      = "ReadDeadLetterDepth"
        Effect   = "Allow"
        Action   = ["sqs:GetQueueAttributes"]
        Resource = [var.dlq_arn]
      },
    ], local.db_secret_statements.proxy)
  }

  # worker: consume the main queue, send poison messages to the DLQ.
  worker_policy = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "Consume"
        Effect   = "Allow"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
        Resource = [var.queue_arn]
      },
      {
        Sid      = "DeadLetter"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
        Resource = [var.dlq_arn]
      },
    ], local.db_secret_statements.worker)
  }

  # migrate: the one-off task that applies the schema migrations as the
  # master user (infra/README.md "Database logins"); nothing else.
  migrate_policy = {
    Version   = "2012-10-17"
    Statement = local.db_secret_statements.migrate
  }

  # operator: inspect the DLQ and move its messages back to the main queue.
  operator_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "ReadDlq"
        Effect = "Allow"
        Action = [
          "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
          "sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask",
        ]
        Resource = [var.dlq_arn]
      },
      {
        Sid      = "Requeue"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
        Resource = [var.queue_arn]
      },
    ]
  }

  # EC2 does not send aws:SourceAccount when an instance assumes its role
  # (AWS documents the confused-deputy keys for service-to-service calls, not
  # for instance profiles); the instance profile itself is the guard.
  bastion_trust = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" } # no-source-account: instance profile, see above
      Action    = "sts:AssumeRole"
    }]
  }

  operator_principals = length(var.operator_principal_arns) > 0 ? var.operator_principal_arns : ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
}

# Every role of this module and its inline policy (none for the bastion, which
# has the managed SSM policy below). The ECS roles trust ecs-tasks and name
# their policy after themselves.
locals {
  ecs_roles = {
    execution = { name = "ecs-execution", description = "ECS task execution role: image pull, logs, DB secret injection", policy = local.execution_policy }
    proxy     = { name = "proxy-task", description = "proxy task role: send to the queue", policy = local.proxy_policy }
    worker    = { name = "worker-task", description = "worker task role: consume the queue, dead-letter to the DLQ", policy = local.worker_policy }
    migrate   = { name = "migrate-task", description = "migrate task role: read the master secret, nothing else", policy = local.migrate_policy }
  }

  roles = merge(
    {
      for k, r in local.ecs_roles : k => {
        name                 = r.name
        description          = r.description
        trust                = local.ecs_trust
        max_session_duration = null
        policy_name          = k
        policy               = jsonencode(r.policy)
      }
    },
    {
      operator = {
        name        = "dlq-operator"
        description = "Operators: inspect and replay the dead-letter queue (MFA required)"
        trust = jsonencode({
          Version = "2012-10-17"
          Statement = [{
            Effect    = "Allow"
            Principal = { AWS = local.operator_principals }
            Action    = "sts:AssumeRole"
            Condition = { Bool = { "aws:MultiFactorAuthPresent" = "true" } }
          }]
        })
        max_session_duration = 3600
        policy_name          = "dlq-replay"
        policy               = jsonencode(local.operator_policy)
      }
      # Bastion: SSM Session Manager only (no SSH key anywhere).
      bastion = {
        name                 = "bastion"
        description          = null
        trust                = jsonencode(local.bastion_trust)
        max_session_duration = null
        policy_name          = null
        policy               = null
      }
    },
  )
}

resource "aws_iam_role" "this" {
  for_each = local.roles

  name                 = "${var.name}-${each.value.name}"
  description          = each.value.description
  assume_role_policy   = each.value.trust
  max_session_duration = each.value.max_session_duration
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = { for k, r in local.roles : k => r if r.policy != null }

  name   = each.value.policy_name
  role   = aws_iam_role.this[each.key].id
  policy = each.value.policy
}

resource "aws_iam_role_policy_attachment" "bastion_ssm" {
  role       = aws_iam_role.this["bastion"].name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "bastion" {
  name = "${var.name}-bastion"
  role = aws_iam_role.this["bastion"].name
  tags = var.tags
}
