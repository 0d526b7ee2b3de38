# Production: multi-AZ database with deletion protection, longer backups and
# logs, alarms to a required subscription.
environment        = "prod"
region             = "us-east-1"
availability_zones = ["us-east-1a", "us-east-1b"]
vpc_cidr           = "10.30.0.0/16"
hosted_zone_id     = "Z0000000000000000000" # replace with the zone of your domain
hostname           = "prod.numbers.example.com"
log_retention_days = 90

database = {
  instance_class        = "db.t4g.medium"
  allocated_storage     = 50
  max_allocated_storage = 500
  backup_retention_days = 14
  multi_az              = true
  deletion_protection   = true
}

proxy = {
  cpu       = 512
  memory    = 1024
  min_tasks = 2
  max_tasks = 10
  # ALB requests per task per minute: 400 writes/s a task, 0.17 cores of the
  # 0.5 vCPU measured locally at one P (docs/capacity.md, from make bench).
  # Cautious: a busier task costs less per write (4,800/s fits in 0.29
  # cores), so raise it once make bench has run against real SQS.
  requests_per_target = 24000
}

worker = {
  cpu       = 512
  memory    = 1024
  min_tasks = 2
  max_tasks = 10
  # Visible messages per task; a message carries 1 event, or 20-99 when the
  # proxies aggregate busy traffic: 0.07-6.5 s of a task's work
  # (docs/capacity.md).
  backlog_per_task = 2000
}

enable_bastion = false
enable_lambda  = false
alarm_emails   = ["oncall@example.com"] # replace: prod refuses to plan without a subscription
