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
