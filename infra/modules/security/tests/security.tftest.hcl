mock_provider "aws" {}

variables {
  name                        = "numbers-test"
  vpc_id                      = "vpc-1"
  endpoints_security_group_id = "sg-endpoints"
  s3_prefix_list_id           = "pl-s3"
}

run "alb_egress_only_to_the_proxy" {
  command = plan

  assert {
    condition     = aws_vpc_security_group_egress_rule.this["alb_to_proxy"].referenced_security_group_id == aws_security_group.this["proxy"].id
    error_message = "The ALB's egress must go to the proxy's security group."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.this["alb_to_proxy"].cidr_ipv4 == null && aws_vpc_security_group_egress_rule.this["alb_to_proxy"].from_port == 8080 && aws_vpc_security_group_egress_rule.this["alb_to_proxy"].to_port == 8080
    error_message = "The ALB's egress must be the proxy port only, to no CIDR."
  }
}

run "rds_only_from_services_and_bastion" {
  command = plan

  assert {
    condition     = toset([for k, r in aws_vpc_security_group_ingress_rule.this : trimprefix(k, "rds_from_") if startswith(k, "rds_from_")]) == toset(["proxy", "worker", "bastion"])
    error_message = "RDS ingress must come from proxy, worker and bastion only."
  }

  assert {
    condition     = alltrue([for k, r in aws_vpc_security_group_ingress_rule.this : r.cidr_ipv4 == null && r.from_port == 5432 if startswith(k, "rds_from_")])
    error_message = "RDS ingress must reference security groups, not CIDRs, on 5432."
  }
}

run "services_have_no_internet_egress" {
  command = plan

  assert {
    condition = alltrue([
      for k, r in aws_vpc_security_group_egress_rule.this : r.cidr_ipv4 == null
      if startswith(k, "proxy_to_") || startswith(k, "worker_to_")
    ])
    error_message = "proxy and worker may only reach VPC endpoints, S3 and RDS."
  }
}

run "bastion_has_no_open_egress" {
  command = plan

  assert {
    condition = alltrue([
      for k, r in aws_vpc_security_group_egress_rule.this : r.cidr_ipv4 == null && r.cidr_ipv6 == null
      if startswith(k, "bastion_to_")
    ])
    error_message = "The bastion reaches only the endpoints, S3 (prefix list) and RDS: no CIDR egress (there is no NAT)."
  }
}

run "endpoints_accept_only_the_client_groups" {
  command = plan

  assert {
    condition     = toset([for k, r in aws_vpc_security_group_ingress_rule.this : trimprefix(k, "endpoints_from_") if r.security_group_id == "sg-endpoints"]) == toset(["proxy", "worker", "bastion"])
    error_message = "The interface endpoints accept HTTPS from the proxy, worker and bastion groups only."
  }

  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.this : r.cidr_ipv4 == null && r.from_port == 443 && r.to_port == 443 if r.security_group_id == "sg-endpoints"])
    error_message = "Endpoint ingress references security groups on 443, never the VPC CIDR."
  }
}
