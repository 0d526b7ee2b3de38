# Development: smallest sizes, no deletion protection.
environment        = "dev"
region             = "us-east-1"
availability_zones = ["us-east-1a", "us-east-1b"]
vpc_cidr           = "10.10.0.0/16"
hosted_zone_id     = "Z0000000000000000000" # replace with the zone of your domain
hostname           = "dev.numbers.example.com"
log_level          = "debug"
log_retention_days = 14

database = {
  instance_class        = "db.t4g.micro"
  allocated_storage     = 20
  max_allocated_storage = 50
  backup_retention_days = 3
  multi_az              = false
  deletion_protection   = false
}

proxy = {
  cpu                 = 256
  memory              = 512
  min_tasks           = 1
  max_tasks           = 2
  requests_per_target = 1000
}

worker = {
  cpu              = 256
  memory           = 512
  min_tasks        = 1
  max_tasks        = 2
  backlog_per_task = 1000
}

enable_bastion = true
enable_lambda  = false
