output "instance_id" {
  description = "Instance ID, the target of `aws ssm start-session`."
  value       = aws_instance.this.id
}
