# The bucket-policy statement every bucket of numbers carries: refuse any
# request to the bucket or its objects that does not come over TLS. The state
# bucket (infra/bootstrap) and the ALB access-log bucket put it in their
# policies' Statement lists.
locals {
  statement = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = "*"
    Action    = "s3:*"
    Resource  = [var.bucket_arn, "${var.bucket_arn}/*"]
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }
}
