locals {
  functions = {
    http = { zip = var.http_zip, timeout = 10, sg = var.http_security_group_id, login = "proxy" }
    # Below the queue's visibility timeout, or SQS redelivers messages that
    # are still being processed (AWS refuses the mapping otherwise).
    sqs = { zip = var.sqs_zip, timeout = min(25, var.visibility_timeout_seconds - 5), sg = var.sqs_security_group_id, login = "worker" }
  }

  account = data.aws_caller_identity.current.account_id
  region  = data.aws_region.current.region

  # What every function needs besides its own work: its log group, X-Ray
  # (tracing is Active: AWS refuses to create the function otherwise), its
  # database login, and the network interfaces of a function in a VPC, in
  # this VPC's subnets and groups only (instead of the managed
  # AWSLambdaVPCAccessExecutionRole, whose resources are all "*").
  common_statements = {
    for k, f in local.functions : k => [
      { Sid = "DbSecret", Effect = "Allow", Action = ["secretsmanager:GetSecretValue"], Resource = [var.db.secret_arns[f.login]] },
      {
        Sid       = "DbSecretKey"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = [var.db.kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" } }
      },
      { Sid = "Logs", Effect = "Allow", Action = ["logs:CreateLogStream", "logs:PutLogEvents"], Resource = ["${aws_cloudwatch_log_group.function[k].arn}:*"] },
      # X-Ray trace ingestion has no resource-level permissions.
      { Sid = "Tracing", Effect = "Allow", Action = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource = "*" },
      # Describe has no resource-level permissions (the same two as in
      # AWSLambdaVPCAccessExecutionRole).
      { Sid = "DescribeNetwork", Effect = "Allow", Action = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], Resource = "*" },
      {
        Sid    = "CreateNetworkInterfaces"
        Effect = "Allow"
        Action = ["ec2:CreateNetworkInterface"]
        Resource = concat(
          ["arn:aws:ec2:${local.region}:${local.account}:network-interface/*"],
          [for s in var.private_subnet_ids : "arn:aws:ec2:${local.region}:${local.account}:subnet/${s}"],
          ["arn:aws:ec2:${local.region}:${local.account}:security-group/${f.sg}"],
        )
      },
      {
        Sid       = "ManageNetworkInterfacesInThisVpc"
        Effect    = "Allow"
        Action    = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
        Resource  = ["arn:aws:ec2:${local.region}:${local.account}:network-interface/*"]
        Condition = { ArnEquals = { "ec2:Vpc" = var.vpc_arn } }
      },
    ]
  }

  function_policies = {
    http = {
      Version = "2012-10-17"
      Statement = concat([
        { Sid = "Enqueue", Effect = "Allow", Action = ["sqs:SendMessage", "sqs:GetQueueAttributes"], Resource = [var.queue_arn] },
        # /readyz pings the queue; GET /api/stats reads both queues' depth.
        { Sid = "ReadDeadLetterDepth", Effect = "Allow", Action = ["sqs:GetQueueAttributes"], Resource = [var.dlq_arn] },
      ], local.common_statements.http)
    }
    sqs = {
      Version = "2012-10-17"
      Statement = concat([
        { Sid = "Consume", Effect = "Allow", Action = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"], Resource = [var.queue_arn] },
        { Sid = "DeadLetter", Effect = "Allow", Action = ["sqs:SendMessage"], Resource = [var.dlq_arn] },
      ], local.common_statements.sqs)
    }
  }

  trust_policy = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
    }]
  }
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

# Created before the functions, with a retention: a function that logs first
# would create its group itself, kept forever.
resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name                 = "${var.name}-lambda-${each.key}"
  assume_role_policy   = jsonencode(local.trust_policy)
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "function"
  role   = aws_iam_role.function[each.key].id
  policy = jsonencode(local.function_policies[each.key])
}

resource "aws_lambda_function" "this" {
  for_each = local.functions

  function_name = "${var.name}-${each.key}"
  role          = aws_iam_role.function[each.key].arn
  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"
  # Built by `make lambda` (the deploy workflow builds them in the plan job
  # and applies the saved plan with the same files): a code change is a
  # normal plan/apply like any other.
  filename         = each.value.zip
  source_code_hash = fileexists(each.value.zip) ? filebase64sha256(each.value.zip) : null
  timeout          = each.value.timeout
  memory_size      = 256

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [each.value.sg]
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.function[each.key].name
  }

  environment {
    variables = {
      SQS_QUEUE_URL = var.queue_url
      SQS_DLQ_URL   = var.dlq_url
      PGHOST        = var.db.host
      PGPORT        = tostring(var.db.port)
      PGDATABASE    = var.db.name
      PGSSLMODE     = "verify-full"
      PGSSLROOTCERT = var.db.ssl_root_cert
      # The function reads its login (JSON username/password) from this
      # secret, and again when the password stops working (rotation).
      DB_SECRET_ARN = var.db.secret_arns[each.value.login]
      LOG_LEVEL     = var.log_level
    }
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    precondition {
      condition     = !var.require_zips || fileexists(each.value.zip)
      error_message = "${each.value.zip} does not exist: run `make lambda` first (`make -s lambda-zips` lists what it writes)."
    }
  }

  tags = var.tags

  # IAM is eventually consistent: the role's policy (logs, X-Ray, network
  # interfaces) and the log group first, or creation fails or logs are lost.
  depends_on = [aws_iam_role_policy.function, aws_cloudwatch_log_group.function]
}

# ---- HTTP API (payload format 2.0) ----
resource "aws_apigatewayv2_api" "http" {
  name          = "${var.name}-http"
  protocol_type = "HTTP"
  tags          = var.tags
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${var.name}-http"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId = "$context.requestId", ip = "$context.identity.sourceIp", method = "$context.httpMethod",
      path      = "$context.path", status = "$context.status", latency = "$context.responseLatency"
    })
  }

  default_route_settings {
    throttling_burst_limit = 200
    throttling_rate_limit  = 100
  }

  tags = var.tags
}

resource "aws_apigatewayv2_integration" "http" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.this["http"].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "default" {
  api_id    = aws_apigatewayv2_api.http.id
  route_key = "$default"
  target    = "integrations/${aws_apigatewayv2_integration.http.id}"
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["http"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
  # no-source-account: source_arn names this API of this account
}

# ---- SQS -> function ----
resource "aws_lambda_event_source_mapping" "sqs" {
  # The mapping polls with the function's role: its policy must exist first.
  depends_on = [aws_iam_role_policy.function]

  event_source_arn                   = var.queue_arn
  function_name                      = aws_lambda_function.this["sqs"].arn
  batch_size                         = 100
  maximum_batching_window_in_seconds = 1
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sqs_max_concurrency
  }
}
