output "statement" {
  description = "The DenyInsecureTransport statement, as an object for a bucket policy's Statement list."
  value       = local.statement
}
