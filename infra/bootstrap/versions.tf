terraform {
  required_version = ">= 1.10" # S3-native state locking (use_lockfile)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
  # Local state on purpose: this module creates the remote state bucket. Keep
  # its terraform.tfstate safe (or import the bucket again if lost).
}

provider "aws" {
  region = var.region
}
