output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (a, b), for the ALB."
  value       = [aws_subnet.public["a"].id, aws_subnet.public["b"].id]
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (a, b), for tasks, functions, RDS and the bastion."
  value       = [aws_subnet.private["a"].id, aws_subnet.private["b"].id]
}

output "endpoints_security_group_id" {
  description = "Security group of the interface VPC endpoints."
  value       = aws_security_group.endpoints.id
}

output "s3_prefix_list_id" {
  description = "Prefix list of the S3 gateway endpoint (ECR layers), for egress rules."
  value       = aws_vpc_endpoint.s3.prefix_list_id
}

output "vpc_arn" {
  description = "ARN of the VPC (the Lambda roles' network-interface condition)."
  value       = aws_vpc.this.arn
}

output "interface_endpoints" {
  description = "Services with an interface endpoint."
  value       = keys(aws_vpc_endpoint.interface)
}

output "iam" {
  description = "The flow-log role's trust and inline policy, as objects (for review and tests)."
  value = {
    trust    = { flow = local.flow_trust }
    policies = { flow = local.flow_policy }
  }
}
