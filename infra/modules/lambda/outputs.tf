output "function_names" {
  description = "Function name per kind (http, sqs)."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "api_endpoint" {
  description = "Invoke URL of the HTTP API."
  value       = aws_apigatewayv2_api.http.api_endpoint
}

output "event_source_mapping" {
  description = "The SQS event source mapping's settings (for review and tests)."
  value = {
    function_response_types = aws_lambda_event_source_mapping.sqs.function_response_types
    maximum_concurrency     = var.sqs_max_concurrency
  }
}

output "iam" {
  description = "The function roles' policies, trust and boundaries, as objects (for review and tests)."
  value = {
    policies   = local.function_policies
    trust      = { function = local.trust_policy }
    boundaries = { for k, r in aws_iam_role.function : k => r.permissions_boundary }
  }
}

output "functions" {
  description = "Per function: tracing mode, environment, log group, and what it waits for (for review and tests)."
  value = {
    for k, f in aws_lambda_function.this : k => {
      tracing     = one(f.tracing_config).mode
      environment = one(f.environment).variables
      log_group   = one(f.logging_config).log_group
      zip         = f.filename
    }
  }
}
