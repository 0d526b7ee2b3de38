terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Remote state in S3 with S3-native locking (a .tflock object next to the
  # state; no DynamoDB table). The bucket comes from infra/bootstrap and is
  # given at init: tofu init -backend-config="bucket=..." -backend-config="region=...".
  # Each workspace (dev, staging, prod) keeps its state under env/<workspace>/.
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
