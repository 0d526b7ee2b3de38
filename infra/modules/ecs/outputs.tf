output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "task_definition_families" {
  description = "Task definition family per service (the deploy workflow registers new revisions of these)."
  value       = { for k, t in aws_ecs_task_definition.this : k => t.family }
}

output "services" {
  description = "Per service (proxy, worker): its name, the task definition revision it runs, whether Terraform rolls it and waits (for review and tests)."
  value       = { for k, s in aws_ecs_service.this : k => { name = s.name, task_definition = s.task_definition, wait = s.wait_for_steady_state } }
}

output "container_definitions" {
  description = "Container definition per service, as objects (for review and tests)."
  value       = local.containers
}
