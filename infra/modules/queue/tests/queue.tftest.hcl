mock_provider "aws" {}

variables {
  name     = "numbers-test"
  settings = { max_receive_count = 4 }
}

run "main_queue_dead_letters_to_the_dlq" {
  command = plan

  assert {
    # (mock_provider fills an unset optional+computed string with random text,
    # so test the content, not just != null)
    condition     = try(jsondecode(aws_sqs_queue.main.redrive_policy).deadLetterTargetArn, null) == aws_sqs_queue.dlq.arn
    error_message = "The main queue has no redrive policy to the DLQ: poison messages would loop forever."
  }

  assert {
    condition     = try(jsondecode(aws_sqs_queue.main.redrive_policy).maxReceiveCount, null) == 4
    error_message = "maxReceiveCount does not come from var.settings.max_receive_count."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue_redrive_allow_policy.dlq.redrive_allow_policy).redrivePermission == "byQueue"
    error_message = "Only named source queues may use the DLQ."
  }
}

run "queues_are_encrypted_and_dlq_keeps_longer" {
  command = plan

  assert {
    condition     = aws_sqs_queue.main.sqs_managed_sse_enabled && aws_sqs_queue.dlq.sqs_managed_sse_enabled
    error_message = "Both queues must use server-side encryption."
  }

  assert {
    condition     = aws_sqs_queue.dlq.message_retention_seconds > aws_sqs_queue.main.message_retention_seconds
    error_message = "The DLQ must keep messages longer than the main queue."
  }

  assert {
    condition     = aws_sqs_queue.main.visibility_timeout_seconds == 30
    error_message = "The visibility timeout must match the worker's default (30 s)."
  }
}

run "dlq_shorter_than_main_is_refused" {
  command = plan

  variables {
    dlq_message_retention_seconds = 60
  }

  expect_failures = [aws_sqs_queue.dlq]
}
