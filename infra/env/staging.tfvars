# Staging: production shape at smaller scale.
environment        = "staging"
region             = "us-east-1"
availability_zones = ["us-east-1a", "us-east-1b"]
vpc_cidr           = "10.20.0.0/16"
hosted_zone_id     = "Z0000000000000000000" # replace with the zone of your domain
hostname           = "staging.numbers.example.com"
log_retention_days = 30

database = {
  instance_class        = "db.t4g.small"
  allocated_storage     = 20
  max_allocated_storage = 100
  backup_retention_days = 7
  multi_az              = false
  deletion_protection   = false
}

proxy = {
  cpu                 = 256
  memory              = 512
  min_tasks           = 1
  max_tasks           = 4
  requests_per_target = 1000
}

worker = {
  cpu              = 256
  memory           = 512
  min_tasks        = 1
  max_tasks        = 4
  backlog_per_task = 1000
}

enable_bastion             = true
enable_lambda              = true
lambda_sqs_max_concurrency = 3
