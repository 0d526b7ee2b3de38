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
