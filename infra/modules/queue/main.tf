resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-numbers-dlq"
  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = true
  tags                      = var.tags

  lifecycle {
    precondition {
      condition     = var.dlq_message_retention_seconds > var.settings.message_retention_seconds
      error_message = "The DLQ must keep messages longer than the main queue."
    }
  }
}

resource "aws_sqs_queue" "main" {
  name                       = "${var.name}-numbers"
  visibility_timeout_seconds = var.settings.visibility_timeout_seconds
  message_retention_seconds  = var.settings.message_retention_seconds
  receive_wait_time_seconds  = 20 # long polling
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.settings.max_receive_count
  })

  tags = var.tags
}

# Only the main queue may use this DLQ.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.main.arn]
  })
}

# Refuse plain-HTTP access to both queues.
resource "aws_sqs_queue_policy" "tls_only" {
  for_each = {
    main = aws_sqs_queue.main
    dlq  = aws_sqs_queue.dlq
  }

  queue_url = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sqs:*"
      Resource  = each.value.arn
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
