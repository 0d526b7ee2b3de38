# Rules are separate resources (one per rule) so that each one is reviewable
# and testable, and no group has an implicit allow-all egress. Each rule is a
# row of a table below; the key names it.

resource "aws_security_group" "this" {
  for_each = {
    alb     = "Application Load Balancer: HTTP/HTTPS in from the internet, out only to the proxy"
    proxy   = "proxy service (ECS tasks and the HTTP Lambda)"
    worker  = "worker service (ECS tasks and the SQS Lambda)"
    rds     = "RDS Postgres: only from the services and the bastion"
    bastion = "Bastion: no inbound at all (SSM Session Manager), out to the endpoints, S3 and RDS"
  }

  name        = "${var.name}-${each.key}"
  description = each.value
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

locals {
  sg = { for k, g in aws_security_group.this : k => g.id }

  # The groups that reach Postgres and the AWS APIs: the services and the
  # bastion.
  clients = ["proxy", "worker", "bastion"]
}

# ---- ALB: the public entry point ----
resource "aws_vpc_security_group_ingress_rule" "alb_from_internet" {
  for_each = {
    http  = { port = 80, description = "HTTP from anywhere (redirected to HTTPS)" }
    https = { port = 443, description = "HTTPS from anywhere" }
  }

  security_group_id = local.sg.alb
  description       = each.value.description
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = "0.0.0.0/0" #tfsec:ignore:aws-ec2-no-public-ingress-sgr public web entry point of the service; port 80 only redirects to 443
}

# ---- every other ingress: from a security group only ----
# The proxy from the ALB; RDS from each client; the interface endpoints
# (HTTPS) from each client.
locals {
  ingress = merge(
    { proxy_from_alb = { group = local.sg.proxy, port = var.proxy_port, from = local.sg.alb, description = "From the ALB on the container port" } },
    { for c in local.clients : "rds_from_${c}" => { group = local.sg.rds, port = var.db_port, from = local.sg[c], description = "Postgres from ${c}" } },
    { for c in local.clients : "endpoints_from_${c}" => { group = var.endpoints_security_group_id, port = 443, from = local.sg[c], description = "HTTPS from ${c}" } },
  )
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each = local.ingress

  security_group_id            = each.value.group
  description                  = each.value.description
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.from
}

# ---- egress: the ALB only to the proxy; the clients to the AWS APIs through
# the interface endpoints, to S3 through the gateway endpoint (prefix list)
# and to Postgres. Nothing to the internet (there is no NAT). ----
locals {
  egress_targets = {
    endpoints = { port = 443, group = var.endpoints_security_group_id, prefix_list = null }
    s3        = { port = 443, group = null, prefix_list = var.s3_prefix_list_id }
    rds       = { port = var.db_port, group = local.sg.rds, prefix_list = null }
  }
  # Why each client goes there.
  egress_reasons = {
    proxy   = local.service_egress_reasons
    worker  = local.service_egress_reasons
    bastion = { endpoints = "HTTPS to the interface VPC endpoints (SSM Session Manager)", s3 = "HTTPS to S3 through the gateway endpoint (Amazon Linux package repositories)", rds = "Postgres" }
  }
  service_egress_reasons = {
    endpoints = "HTTPS to the interface VPC endpoints (SQS, ECR, logs, Secrets Manager)"
    s3        = "HTTPS to S3 through the gateway endpoint (ECR image layers)"
    rds       = "Postgres"
  }

  egress = merge(
    { alb_to_proxy = { from = local.sg.alb, port = var.proxy_port, group = local.sg.proxy, prefix_list = null, description = "Only to the proxy tasks on their container port" } },
    {
      for pair in setproduct(local.clients, keys(local.egress_targets)) : "${pair[0]}_to_${pair[1]}" =>
      merge(local.egress_targets[pair[1]], { from = local.sg[pair[0]], description = local.egress_reasons[pair[0]][pair[1]] })
    },
  )
}

resource "aws_vpc_security_group_egress_rule" "this" {
  for_each = local.egress

  security_group_id            = each.value.from
  description                  = each.value.description
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.group
  prefix_list_id               = each.value.prefix_list
}
