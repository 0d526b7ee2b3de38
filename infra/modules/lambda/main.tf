locals {
  functions = {
    http = { zip = var.http_zip, timeout = 10, sg = var.http_security_group_id }
    # Below the queue's visibility timeout, or SQS redelivers messages that
    # are still being processed (AWS refuses the mapping otherwise).
    sqs = { zip = var.sqs_zip, timeout = min(25, var.visibility_timeout_seconds - 5), sg = var.sqs_security_group_id }
  }

  function_policies = {
    http = {
      Version = "2012-10-17"
      Statement = [
        { Sid = "Enqueue", Effect = "Allow", Action = ["sqs:SendMessage", "sqs:GetQueueAttributes"], Resource = [var.queue_arn] },
        # /readyz pings the queue; GET /api/stats reads both queues' depth.
        { Sid = "ReadDeadLetterDepth", Effect = "Allow", Action = ["sqs:GetQueueAttributes"], Resource = [var.dlq_arn] },
        { Sid = "DbSecret", Effect = "Allow", Action = ["secretsmanager:GetSecretValue"], Resource = [var.db.secret_arn] },
        { Sid = "Logs", Effect = "Allow", Action = ["logs:CreateLogStream", "logs:PutLogEvents"], Resource = ["${var.log_group_arns["${var.name}-http"]}:*"] },
      ]
    }
    sqs = {
      Version = "2012-10-17"
      Statement = [
        { Sid = "Consume", Effect = "Allow", Action = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"], Resource = [var.queue_arn] },
        { Sid = "DeadLetter", Effect = "Allow", Action = ["sqs:SendMessage"], Resource = [var.dlq_arn] },
        { Sid = "DbSecret", Effect = "Allow", Action = ["secretsmanager:GetSecretValue"], Resource = [var.db.secret_arn] },
        { Sid = "Logs", Effect = "Allow", Action = ["logs:CreateLogStream", "logs:PutLogEvents"], Resource = ["${var.log_group_arns["${var.name}-sqs"]}:*"] },
      ]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name = "${var.name}-lambda-${each.key}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "function"
  role   = aws_iam_role.function[each.key].id
  policy = jsonencode(local.function_policies[each.key])
}

# ENI management for functions in a VPC (AWS managed policy).
resource "aws_iam_role_policy_attachment" "vpc" {
  for_each = local.functions

  role       = aws_iam_role.function[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "this" {
  for_each = local.functions

  function_name = "${var.name}-${each.key}"
  role          = aws_iam_role.function[each.key].arn
  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"
  filename      = each.value.zip
  # The zip exists only after `make lambda`; the deploy workflow updates the
  # code afterwards, so Terraform ignores later code changes.
  source_code_hash = fileexists(each.value.zip) ? filebase64sha256(each.value.zip) : null
  timeout          = each.value.timeout
  memory_size      = 256

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [each.value.sg]
  }

  environment {
    variables = {
      SQS_QUEUE_URL = var.queue_url
      SQS_DLQ_URL   = var.dlq_url
      PGHOST        = var.db.host
      PGPORT        = tostring(var.db.port)
      PGDATABASE    = var.db.name
      PGSSLMODE     = "require"
      # Lambda has no "secrets" injection like ECS: the function reads
      # user/password from this secret at start.
      DB_SECRET_ARN = var.db.secret_arn
      LOG_LEVEL     = var.log_level
    }
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    ignore_changes = [filename, source_code_hash]
  }

  tags = var.tags
}

# ---- HTTP API (payload format 2.0) ----
resource "aws_apigatewayv2_api" "http" {
  name          = "${var.name}-http"
  protocol_type = "HTTP"
  tags          = var.tags
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${var.name}-http"
  retention_in_days = 30
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
}

# ---- SQS -> function ----
resource "aws_lambda_event_source_mapping" "sqs" {
  event_source_arn                   = var.queue_arn
  function_name                      = aws_lambda_function.this["sqs"].arn
  batch_size                         = 100
  maximum_batching_window_in_seconds = 1
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sqs_max_concurrency
  }
}
