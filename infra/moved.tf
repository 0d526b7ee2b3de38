# State moves of resources that became one for_each resource over a table
# (issue 16: fewer repeated blocks). Each keeps its object in AWS: apply moves
# it in state, it neither destroys nor recreates anything. These can go once
# every workspace (dev, staging, prod) has been applied with them.

# modules/iam: the roles and their inline policies, keyed by role.
moved {
  from = module.iam.aws_iam_role.execution
  to   = module.iam.aws_iam_role.this["execution"]
}

moved {
  from = module.iam.aws_iam_role.proxy
  to   = module.iam.aws_iam_role.this["proxy"]
}

moved {
  from = module.iam.aws_iam_role.worker
  to   = module.iam.aws_iam_role.this["worker"]
}

moved {
  from = module.iam.aws_iam_role.migrate
  to   = module.iam.aws_iam_role.this["migrate"]
}

moved {
  from = module.iam.aws_iam_role.operator
  to   = module.iam.aws_iam_role.this["operator"]
}

moved {
  from = module.iam.aws_iam_role.bastion
  to   = module.iam.aws_iam_role.this["bastion"]
}

moved {
  from = module.iam.aws_iam_role_policy.execution
  to   = module.iam.aws_iam_role_policy.this["execution"]
}

moved {
  from = module.iam.aws_iam_role_policy.proxy
  to   = module.iam.aws_iam_role_policy.this["proxy"]
}

moved {
  from = module.iam.aws_iam_role_policy.worker
  to   = module.iam.aws_iam_role_policy.this["worker"]
}

moved {
  from = module.iam.aws_iam_role_policy.migrate
  to   = module.iam.aws_iam_role_policy.this["migrate"]
}

moved {
  from = module.iam.aws_iam_role_policy.operator
  to   = module.iam.aws_iam_role_policy.this["operator"]
}

# modules/ecs: the two services, keyed by service.
moved {
  from = module.ecs.aws_ecs_service.proxy
  to   = module.ecs.aws_ecs_service.this["proxy"]
}

moved {
  from = module.ecs.aws_ecs_service.worker
  to   = module.ecs.aws_ecs_service.this["worker"]
}

# modules/observability: the alarms on one metric each, keyed by alarm kind.
moved {
  from = module.observability.aws_cloudwatch_metric_alarm.dlq_not_empty
  to   = module.observability.aws_cloudwatch_metric_alarm.this["dlq_not_empty"]
}

moved {
  from = module.observability.aws_cloudwatch_metric_alarm.oldest_message_age
  to   = module.observability.aws_cloudwatch_metric_alarm.this["oldest_message_age"]
}

moved {
  from = module.observability.aws_cloudwatch_metric_alarm.worker_errors
  to   = module.observability.aws_cloudwatch_metric_alarm.this["worker_errors"]
}

moved {
  from = module.observability.aws_cloudwatch_metric_alarm.worker_failed_messages
  to   = module.observability.aws_cloudwatch_metric_alarm.this["worker_failed_messages"]
}

moved {
  from = module.observability.aws_cloudwatch_metric_alarm.rds["cpu"]
  to   = module.observability.aws_cloudwatch_metric_alarm.this["rds_cpu"]
}

moved {
  from = module.observability.aws_cloudwatch_metric_alarm.rds["free_storage"]
  to   = module.observability.aws_cloudwatch_metric_alarm.this["rds_free_storage"]
}

moved {
  from = module.observability.aws_cloudwatch_metric_alarm.rds["connections"]
  to   = module.observability.aws_cloudwatch_metric_alarm.this["rds_connections"]
}

moved {
  from = module.observability.aws_cloudwatch_metric_alarm.unhealthy_hosts
  to   = module.observability.aws_cloudwatch_metric_alarm.this["unhealthy_hosts"]
}

moved {
  from = module.observability.aws_cloudwatch_metric_alarm.no_healthy_hosts
  to   = module.observability.aws_cloudwatch_metric_alarm.this["no_healthy_hosts"]
}

# modules/ecs: the scaling policies, keyed by service.
moved {
  from = module.ecs.aws_appautoscaling_policy.proxy_requests
  to   = module.ecs.aws_appautoscaling_policy.this["proxy"]
}

moved {
  from = module.ecs.aws_appautoscaling_policy.worker_backlog
  to   = module.ecs.aws_appautoscaling_policy.this["worker"]
}
