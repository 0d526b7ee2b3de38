data "aws_caller_identity" "current" {}

# ---- state bucket: versioned, encrypted, private, TLS only ----
#tfsec:ignore:aws-s3-enable-bucket-logging access logging would need a second bucket; CloudTrail data events cover state access if required
resource "aws_s3_bucket" "state" {
  bucket = var.state_bucket_name

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_kms_key" "state" {
  description         = "Terraform state of numbers"
  enable_key_rotation = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# TLS only, and every state object encrypted with the state key: the S3
# backend's `encrypt = true` alone asks for SSE-S3 (AES256), which this
# refuses; infra/ passes kms_key_id at init (TF_STATE_KMS_KEY_ARN).
module "state_tls_only" {
  source     = "../modules/s3-tls-only"
  bucket_arn = aws_s3_bucket.state.arn
}

locals {
  state_bucket_policy = {
    Version = "2012-10-17"
    Statement = [
      module.state_tls_only.statement,
      {
        Sid       = "DenyOtherEncryption"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.state.arn}/*"
        # (a request without the header gets the bucket default: the state key)
        Condition = { Null = { "s3:x-amz-server-side-encryption" = "false" }, StringNotEquals = { "s3:x-amz-server-side-encryption" = "aws:kms" } }
      },
      {
        Sid       = "DenyOtherKeys"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.state.arn}/*"
        Condition = { Null = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = "false" }, StringNotEquals = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = aws_kms_key.state.arn } }
      },
    ]
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = jsonencode(local.state_bucket_policy)
}

# Old state versions are kept 90 days (S3-native locking needs no table).
resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
  }
}

# ---- GitHub Actions through OIDC: no stored AWS keys ----
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}
