# Rules are separate resources (one per rule) so that each one is reviewable
# and testable, and no group has an implicit allow-all egress.

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Application Load Balancer: HTTP/HTTPS in from the internet, out only to the proxy"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_security_group" "proxy" {
  name        = "${var.name}-proxy"
  description = "proxy service (ECS tasks and the HTTP Lambda)"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-proxy" })
}

resource "aws_security_group" "worker" {
  name        = "${var.name}-worker"
  description = "worker service (ECS tasks and the SQS Lambda)"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-worker" })
}

resource "aws_security_group" "rds" {
  name        = "${var.name}-rds"
  description = "RDS Postgres: only from the services and the bastion"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-rds" })
}

resource "aws_security_group" "bastion" {
  name        = "${var.name}-bastion"
  description = "Bastion: no inbound at all (SSM Session Manager), out to the endpoints, S3 and RDS"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-bastion" })
}

# ---- ALB ----
resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from anywhere (redirected to HTTPS)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0" #tfsec:ignore:aws-ec2-no-public-ingress-sgr public web entry point; port 80 only redirects to 443
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from anywhere"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0" #tfsec:ignore:aws-ec2-no-public-ingress-sgr public web entry point of the service
}

resource "aws_vpc_security_group_egress_rule" "alb_to_proxy" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Only to the proxy tasks on their container port"
  ip_protocol                  = "tcp"
  from_port                    = var.proxy_port
  to_port                      = var.proxy_port
  referenced_security_group_id = aws_security_group.proxy.id
}

# ---- proxy ----
resource "aws_vpc_security_group_ingress_rule" "proxy_from_alb" {
  security_group_id            = aws_security_group.proxy.id
  description                  = "From the ALB on the container port"
  ip_protocol                  = "tcp"
  from_port                    = var.proxy_port
  to_port                      = var.proxy_port
  referenced_security_group_id = aws_security_group.alb.id
}

# ---- egress shared by proxy and worker: AWS APIs through endpoints, S3 for
# image layers, Postgres. Nothing to the internet. ----
locals {
  services = {
    proxy  = aws_security_group.proxy.id
    worker = aws_security_group.worker.id
  }
}

resource "aws_vpc_security_group_egress_rule" "service_to_endpoints" {
  for_each = local.services

  security_group_id            = each.value
  description                  = "HTTPS to the interface VPC endpoints (SQS, ECR, logs, Secrets Manager)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.endpoints_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "service_to_s3" {
  for_each = local.services

  security_group_id = each.value
  description       = "HTTPS to S3 through the gateway endpoint (ECR image layers)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.s3_prefix_list_id
}

resource "aws_vpc_security_group_egress_rule" "service_to_rds" {
  for_each = local.services

  security_group_id            = each.value
  description                  = "Postgres"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = aws_security_group.rds.id
}

# ---- RDS ----
locals {
  rds_clients = {
    proxy   = aws_security_group.proxy.id
    worker  = aws_security_group.worker.id
    bastion = aws_security_group.bastion.id
  }
}

resource "aws_vpc_security_group_ingress_rule" "rds_from" {
  for_each = local.rds_clients

  security_group_id            = aws_security_group.rds.id
  description                  = "Postgres from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = each.value
}

# ---- interface endpoints: HTTPS only from the groups that call AWS APIs ----
locals {
  endpoint_clients = {
    proxy   = aws_security_group.proxy.id
    worker  = aws_security_group.worker.id
    bastion = aws_security_group.bastion.id
  }
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from" {
  for_each = local.endpoint_clients

  security_group_id            = var.endpoints_security_group_id
  description                  = "HTTPS from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = each.value
}

# ---- bastion: no ingress rule at all; out only to the endpoints (SSM), S3
# (OS packages) and Postgres ----
resource "aws_vpc_security_group_egress_rule" "bastion_to_endpoints" {
  security_group_id            = aws_security_group.bastion.id
  description                  = "HTTPS to the interface VPC endpoints (SSM Session Manager)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.endpoints_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "bastion_to_s3" {
  security_group_id = aws_security_group.bastion.id
  description       = "HTTPS to S3 through the gateway endpoint (Amazon Linux package repositories)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.s3_prefix_list_id
}

resource "aws_vpc_security_group_egress_rule" "bastion_to_rds" {
  security_group_id            = aws_security_group.bastion.id
  description                  = "Postgres"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = aws_security_group.rds.id
}
