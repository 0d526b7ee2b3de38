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

# modules/security: the groups by role, the rules by "<group>_from_<client>" and
# "<client>_to_<target>".
moved {
  from = module.security.aws_security_group.alb
  to   = module.security.aws_security_group.this["alb"]
}

moved {
  from = module.security.aws_security_group.proxy
  to   = module.security.aws_security_group.this["proxy"]
}

moved {
  from = module.security.aws_security_group.worker
  to   = module.security.aws_security_group.this["worker"]
}

moved {
  from = module.security.aws_security_group.rds
  to   = module.security.aws_security_group.this["rds"]
}

moved {
  from = module.security.aws_security_group.bastion
  to   = module.security.aws_security_group.this["bastion"]
}

moved {
  from = module.security.aws_vpc_security_group_ingress_rule.alb_http
  to   = module.security.aws_vpc_security_group_ingress_rule.alb_from_internet["http"]
}

moved {
  from = module.security.aws_vpc_security_group_ingress_rule.alb_https
  to   = module.security.aws_vpc_security_group_ingress_rule.alb_from_internet["https"]
}

moved {
  from = module.security.aws_vpc_security_group_ingress_rule.proxy_from_alb
  to   = module.security.aws_vpc_security_group_ingress_rule.this["proxy_from_alb"]
}

moved {
  from = module.security.aws_vpc_security_group_ingress_rule.rds_from["proxy"]
  to   = module.security.aws_vpc_security_group_ingress_rule.this["rds_from_proxy"]
}

moved {
  from = module.security.aws_vpc_security_group_ingress_rule.endpoints_from["proxy"]
  to   = module.security.aws_vpc_security_group_ingress_rule.this["endpoints_from_proxy"]
}

moved {
  from = module.security.aws_vpc_security_group_ingress_rule.rds_from["worker"]
  to   = module.security.aws_vpc_security_group_ingress_rule.this["rds_from_worker"]
}

moved {
  from = module.security.aws_vpc_security_group_ingress_rule.endpoints_from["worker"]
  to   = module.security.aws_vpc_security_group_ingress_rule.this["endpoints_from_worker"]
}

moved {
  from = module.security.aws_vpc_security_group_ingress_rule.rds_from["bastion"]
  to   = module.security.aws_vpc_security_group_ingress_rule.this["rds_from_bastion"]
}

moved {
  from = module.security.aws_vpc_security_group_ingress_rule.endpoints_from["bastion"]
  to   = module.security.aws_vpc_security_group_ingress_rule.this["endpoints_from_bastion"]
}

moved {
  from = module.security.aws_vpc_security_group_egress_rule.alb_to_proxy
  to   = module.security.aws_vpc_security_group_egress_rule.this["alb_to_proxy"]
}

moved {
  from = module.security.aws_vpc_security_group_egress_rule.service_to_endpoints["proxy"]
  to   = module.security.aws_vpc_security_group_egress_rule.this["proxy_to_endpoints"]
}

moved {
  from = module.security.aws_vpc_security_group_egress_rule.service_to_s3["proxy"]
  to   = module.security.aws_vpc_security_group_egress_rule.this["proxy_to_s3"]
}

moved {
  from = module.security.aws_vpc_security_group_egress_rule.service_to_rds["proxy"]
  to   = module.security.aws_vpc_security_group_egress_rule.this["proxy_to_rds"]
}

moved {
  from = module.security.aws_vpc_security_group_egress_rule.service_to_endpoints["worker"]
  to   = module.security.aws_vpc_security_group_egress_rule.this["worker_to_endpoints"]
}

moved {
  from = module.security.aws_vpc_security_group_egress_rule.service_to_s3["worker"]
  to   = module.security.aws_vpc_security_group_egress_rule.this["worker_to_s3"]
}

moved {
  from = module.security.aws_vpc_security_group_egress_rule.service_to_rds["worker"]
  to   = module.security.aws_vpc_security_group_egress_rule.this["worker_to_rds"]
}

moved {
  from = module.security.aws_vpc_security_group_egress_rule.bastion_to_endpoints
  to   = module.security.aws_vpc_security_group_egress_rule.this["bastion_to_endpoints"]
}

moved {
  from = module.security.aws_vpc_security_group_egress_rule.bastion_to_s3
  to   = module.security.aws_vpc_security_group_egress_rule.this["bastion_to_s3"]
}

moved {
  from = module.security.aws_vpc_security_group_egress_rule.bastion_to_rds
  to   = module.security.aws_vpc_security_group_egress_rule.this["bastion_to_rds"]
}
