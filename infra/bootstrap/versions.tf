terraform {
  required_version = ">= 1.9"

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
