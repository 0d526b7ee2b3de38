locals {
  services = {
    proxy  = var.proxy
    worker = var.worker
  }

  # Same configuration for both binaries. No password appears here, and ECS
  # injects none: each service reads its own login from DB_SECRET_ARN (JSON
  # username/password) at start and again when authentication fails, so a
  # rotated password needs no restart.
  environment = [
    { name = "AWS_REGION", value = var.region },
    { name = "SQS_QUEUE_URL", value = var.queue_url },
    { name = "SQS_DLQ_URL", value = var.dlq_url },
    { name = "SQS_VISIBILITY_TIMEOUT", value = "${var.visibility_timeout_seconds}s" },
    { name = "PGHOST", value = var.db.host },
    { name = "PGPORT", value = tostring(var.db.port) },
    { name = "PGDATABASE", value = var.db.name },
    # TLS with the server verified against the RDS CA bundle in the image.
    { name = "PGSSLMODE", value = "verify-full" },
    { name = "PGSSLROOTCERT", value = var.db.ssl_root_cert },
    { name = "LOG_LEVEL", value = var.log_level },
    # JSON logs carry the Embedded Metric Format lines the alarms and the
    # dashboard read, in the observability module's namespace.
    { name = "LOG_FORMAT", value = "json" },
    { name = "METRICS_NAMESPACE", value = "numbers/${var.name}" },
  ]

  # The proxy sits behind the ALB, which appends the client's address as the
  # right-most X-Forwarded-For entry: one hop, which the proxy trusts.
  proxy_environment = [
    { name = "HTTP_ADDR", value = "0.0.0.0:${var.proxy_port}" },
    { name = "DB_SECRET_ARN", value = var.db.secret_arns.proxy },
    { name = "RATE_LIMIT_PER_CLIENT", value = tostring(var.rate_limit_per_client) },
    { name = "TRUST_FORWARDED_FOR", value = "true" },
    # Migrations run once per deploy as the master (the migrate task below),
    # never at the start of a service that connects as its own login.
    { name = "MIGRATE", value = "false" },
  ]
  worker_environment = [
    { name = "METRICS_ADDR", value = "0.0.0.0:9090" },
    { name = "DB_SECRET_ARN", value = var.db.secret_arns.worker },
  ]

  # The Go runtime's settings, from the task's size.
  # - GOMEMLIMIT, the soft memory limit, is 80% of the task's memory: the
  #   garbage collector works harder near it instead of the task being
  #   killed for memory (shared/gctune sets the same from the cgroup when it
  #   can see it; set here so it does not depend on what Fargate exposes).
  # - GOMAXPROCS is the task's vCPU rounded up, at least 1 (512 CPU units:
  #   1). Go's own default rounds a CPU limit under 2 up to 2, so a 0.5 vCPU
  #   task would run two Ps on half a CPU's quota, and at every wake-up the
  #   scheduler starts the idle one's thread to look for work. Measured on
  #   two local cores, not on Fargate (docs/benchmarks.md, "GOMAXPROCS"): in
  #   alternating runs at one P the proxy paid about a fifth less CPU per
  #   write at 1,200-2,400/s, and so did a bare net/http server.
  go_runtime = {
    for k, s in local.services : k => [
      { name = "GOMEMLIMIT", value = "${floor(s.memory * 0.8)}MiB" },
      { name = "GOMAXPROCS", value = tostring(max(1, ceil(s.cpu / 1024))) },
    ]
  }

  # What each container adds to the settings all three share (below).
  container_settings = {
    proxy = {
      image        = var.images.proxy
      log_group    = var.log_group_names.proxy
      stopTimeout  = 30 # the proxy drains within 20 s
      portMappings = [{ containerPort = var.proxy_port, protocol = "tcp", name = "http" }]
      environment  = concat(local.environment, local.proxy_environment, local.go_runtime.proxy)
      # No container healthCheck: the distroless image has no shell or curl
      # to run one. The ALB health check on /healthz replaces it.
    }
    worker = {
      image       = var.images.worker
      log_group   = var.log_group_names.worker
      stopTimeout = 30 # the worker finishes its batch within 20 s
      environment = concat(local.environment, local.worker_environment, local.go_runtime.worker)
      # No container healthCheck (distroless, no shell); ECS replaces a
      # worker whose process exits.
    }
    # One-off: the schema migrations, as the master user (the proxy image
    # with var.migrate_command), run before the services roll.
    migrate = {
      image     = var.images.proxy
      log_group = var.log_group_names.proxy
      command   = var.migrate_command
      environment = concat(local.environment, [
        { name = "DB_SECRET_ARN", value = var.db.master_secret_arn },
        { name = "MIGRATE", value = "true" },
      ])
    }
  }

  # Every container: essential, read-only root filesystem, uid 65532, logs to
  # its service's log group under its own stream prefix.
  containers = {
    for k, c in local.container_settings : k => merge(
      {
        name                   = k
        essential              = true
        readonlyRootFilesystem = true
        user                   = "65532:65532"
        logConfiguration = {
          logDriver = "awslogs"
          options = {
            awslogs-group         = c.log_group
            awslogs-region        = var.region
            awslogs-stream-prefix = k
          }
        }
      },
      { for a, v in c : a => v if a != "log_group" },
    )
  }

  task_sizes = merge(local.services, { migrate = { cpu = 256, memory = 512 } })

  # The proxy registers with the ALB target group; the worker has no load
  # balancer.
  service_network = {
    proxy  = { security_group_id = var.security_group_ids.proxy, behind_alb = true, health_check_grace_period_seconds = 30 }
    worker = { security_group_id = var.security_group_ids.worker, behind_alb = false, health_check_grace_period_seconds = null }
  }
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_ecs_task_definition" "this" {
  for_each = local.task_sizes

  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(each.value.cpu)
  memory                   = tostring(each.value.memory)
  execution_role_arn       = var.role_arns.execution
  task_role_arn            = var.role_arns[each.key]
  container_definitions    = jsonencode([local.containers[each.key]])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  for_each = local.services

  name                              = "${var.name}-${each.key}"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this[each.key].arn
  desired_count                     = each.value.min_tasks
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = local.service_network[each.key].health_check_grace_period_seconds
  propagate_tags                    = "SERVICE"
  enable_execute_command            = false

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [local.service_network[each.key].security_group_id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = local.service_network[each.key].behind_alb ? [var.target_group_arn] : []

    content {
      target_group_arn = load_balancer.value
      container_name   = each.key
      container_port   = var.proxy_port
    }
  }

  # Terraform owns the task definition: a change to the image tag, the
  # environment or the sizes registers a new revision and rolls the service;
  # apply waits until the new tasks are stable (the circuit breaker rolls a
  # failing deployment back, and the deploy workflow then fails).
  wait_for_steady_state = true

  lifecycle {
    # Autoscaling owns the count.
    ignore_changes = [desired_count]
  }

  depends_on = [terraform_data.migrate]

  tags = var.tags
}

# ---- migrations before the services roll ----
# Each new migrate revision (new image) runs once, to completion, before the
# services are updated (scripts/run-migrations.sh: run-task, wait, check the
# exit code). Needs the AWS CLI where `tofu apply` runs.
resource "terraform_data" "migrate" {
  count = var.run_migrations ? 1 : 0

  triggers_replace = [aws_ecs_task_definition.this["migrate"].arn]

  provisioner "local-exec" {
    command = "bash ${path.module}/../../scripts/run-migrations.sh"
    environment = {
      CLUSTER         = aws_ecs_cluster.this.name
      TASK_DEFINITION = aws_ecs_task_definition.this["migrate"].arn
      SUBNETS         = join(",", var.private_subnet_ids)
      SECURITY_GROUP  = var.security_group_ids.worker
      AWS_REGION      = var.region
    }
  }
}

# ---- autoscaling ----
resource "aws_appautoscaling_target" "this" {
  for_each = local.services

  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this[each.key].name}"
  min_capacity       = each.value.min_tasks
  max_capacity       = each.value.max_tasks
}

# proxy: requests per target (ALB), not CPU. worker: backlog per running
# task = visible messages / running tasks.
locals {
  scaling = {
    proxy  = { name = "requests-per-target", target_value = var.proxy.requests_per_target }
    worker = { name = "backlog-per-task", target_value = var.worker.backlog_per_task }
  }
}

resource "aws_appautoscaling_policy" "this" {
  for_each = local.scaling

  name               = "${var.name}-${each.key}-${each.value.name}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[each.key].service_namespace
  scalable_dimension = aws_appautoscaling_target.this[each.key].scalable_dimension
  resource_id        = aws_appautoscaling_target.this[each.key].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = each.value.target_value
    scale_in_cooldown  = 120
    scale_out_cooldown = 30

    dynamic "predefined_metric_specification" {
      for_each = each.key == "proxy" ? [1] : []

      content {
        predefined_metric_type = "ALBRequestCountPerTarget"
        resource_label         = "${var.alb_arn_suffix}/${var.target_group_arn_suffix}"
      }
    }

    dynamic "customized_metric_specification" {
      for_each = each.key == "worker" ? [1] : []

      content {
        metrics {
          id          = "visible"
          return_data = false
          metric_stat {
            metric {
              namespace   = "AWS/SQS"
              metric_name = "ApproximateNumberOfMessagesVisible"
              dimensions {
                name  = "QueueName"
                value = var.queue_name
              }
            }
            stat = "Sum"
          }
        }

        metrics {
          id          = "running"
          return_data = false
          metric_stat {
            metric {
              namespace   = "ECS/ContainerInsights"
              metric_name = "RunningTaskCount"
              dimensions {
                name  = "ClusterName"
                value = aws_ecs_cluster.this.name
              }
              dimensions {
                name  = "ServiceName"
                value = aws_ecs_service.this["worker"].name
              }
            }
            stat = "Average"
          }
        }

        metrics {
          id          = "backlog_per_task"
          label       = "Visible messages per running worker task"
          expression  = "IF(running > 0, visible / running, visible)"
          return_data = true
        }
      }
    }
  }
}
