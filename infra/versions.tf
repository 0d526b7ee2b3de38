terraform {
  required_version = ">= 1.10" # S3-native state locking (use_lockfile)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Remote state in S3 with S3-native locking (a .tflock object next to the
  # state; no DynamoDB table; OpenTofu >= 1.10, hence required_version). The
  # bucket and the state's KMS key come from infra/bootstrap and are given at
  # init:
  #   tofu init -backend-config="bucket=..." -backend-config="region=..." \
  #             -backend-config="kms_key_id=<bootstrap output state_kms_key_arn>"
  # (without kms_key_id, `encrypt = true` asks for SSE-S3, which the bucket
  # policy refuses). Each workspace (dev, staging, prod) keeps its state
  # under env/<workspace>/.
  backend "s3" {
    key                  = "numbers/terraform.tfstate"
    workspace_key_prefix = "env"
    encrypt              = true
    use_lockfile         = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}
