data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  region = data.aws_region.current.region
  ns     = "numbers/${var.name}"
}

# ---- log groups ----
resource "aws_cloudwatch_log_group" "service" {
  for_each = toset(["proxy", "worker"])

  name              = "/ecs/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# (The Lambda functions' log groups are in modules/lambda, created before
# the functions.)

# ---- alarm topic, encrypted with a key CloudWatch may use ----
resource "aws_kms_key" "alarms" {
  description         = "${var.name} alarm topic"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "Account"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*" # in a key policy "*" means this key
      },
      {
        Sid       = "CloudWatchAlarms"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
      },
    ]
  })
  tags = var.tags
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# ---- alarms on one metric each ----
locals {
  # What every alarm shares unless its group or its row says otherwise.
  alarm_defaults = {
    name                = null # "<var.name>-<kind with dashes>"
    dimensions          = null
    statistic           = "Maximum"
    period              = 60
    evaluation_periods  = 1
    datapoints_to_alarm = null
    comparison_operator = "GreaterThanThreshold"
    threshold           = 0
    treat_missing_data  = "notBreaching"
  }
  alarm_groups = {
    sqs = { namespace = "AWS/SQS" }
    # The worker's figures in this module's namespace (local.ns).
    worker = { namespace = local.ns, statistic = "Sum", period = 300, threshold = var.worker_error_threshold }
    # No figures from the database is itself a problem.
    rds = {
      namespace          = "AWS/RDS", dimensions = { DBInstanceIdentifier = var.db_identifier }, period = 300, evaluation_periods = 2
      treat_missing_data = "breaching"
    }
    # The proxy's targets behind the ALB.
    targets = { namespace = "AWS/ApplicationELB", dimensions = { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix } }
  }

  # Alarm kind => group, metric and what differs from the defaults.
  alarms = { for k, a in {
    dlq_not_empty = {
      group       = "sqs", metric_name = "ApproximateNumberOfMessagesVisible", dimensions = { QueueName = var.dlq_name }
      description = "Messages reached the dead-letter queue: inspect and replay them (README: DLQ replay)."
    }
    oldest_message_age = {
      group              = "sqs", metric_name = "ApproximateAgeOfOldestMessage", dimensions = { QueueName = var.queue_name }
      description        = "The worker is not keeping up (or not running): the oldest message is older than ${var.oldest_message_age_threshold_seconds}s."
      evaluation_periods = 5, datapoints_to_alarm = 3, threshold = var.oldest_message_age_threshold_seconds
    }
    # Error lines of the worker's JSON (zerolog) log, counted by the metric
    # filter below.
    worker_errors = {
      group       = "worker", metric_name = aws_cloudwatch_log_metric_filter.worker_errors.metric_transformation[0].name
      description = "The worker logged errors (failed batches, database or queue trouble)."
    }
    # From the Embedded Metric Format lines in the worker's log
    # (METRICS_NAMESPACE = local.ns): messages left for redelivery because
    # Postgres or the DLQ failed. Warnings, not errors, in the log, so the
    # log-level filter does not see them.
    worker_failed_messages = {
      group       = "worker", metric_name = "worker_messages_total", dimensions = { service = "worker", outcome = "failed" }
      description = "The worker could not store messages (left in the queue for redelivery): Postgres is down or failing."
    }
    rds_cpu = {
      group       = "rds", metric_name = "CPUUtilization", statistic = "Average", threshold = var.rds_cpu_threshold_percent
      description = "Database CPU above ${var.rds_cpu_threshold_percent}% for 10 minutes."
    }
    rds_free_storage = {
      group       = "rds", metric_name = "FreeStorageSpace", statistic = "Minimum", comparison_operator = "LessThanThreshold", threshold = var.rds_free_storage_threshold_bytes
      description = "Database free storage below ${floor(var.rds_free_storage_threshold_bytes / 1073741824)} GiB (autoscaling may be at its ceiling)."
    }
    rds_connections = {
      group       = "rds", metric_name = "DatabaseConnections", threshold = var.rds_connections_threshold
      description = "More than ${var.rds_connections_threshold} database connections: close to max_connections."
    }
    unhealthy_hosts = {
      group       = "targets", metric_name = "UnHealthyHostCount", name = "proxy-unhealthy-hosts", evaluation_periods = 3
      description = "proxy tasks fail the ALB health check (/healthz)."
    }
    no_healthy_hosts = {
      group               = "targets", metric_name = "HealthyHostCount", name = "proxy-no-healthy-hosts", statistic = "Minimum", evaluation_periods = 2
      comparison_operator = "LessThanThreshold", threshold = 1, treat_missing_data = "breaching"
      description         = "No proxy task is healthy behind the ALB: the service is down."
    }
  } : k => merge(local.alarm_defaults, local.alarm_groups[a.group], a) }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${coalesce(each.value.name, replace(each.key, "_", "-"))}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  comparison_operator = each.value.comparison_operator
  threshold           = each.value.threshold
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "http_5xx_rate" {
  alarm_name          = "${var.name}-http-5xx-rate"
  alarm_description   = "More than ${var.http_5xx_rate_threshold_percent}% of requests answered 5xx (ALB or proxy)."
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.http_5xx_rate_threshold_percent
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "rate"
    expression  = "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / IF(requests > 0, requests, 1)"
    label       = "5xx %"
    return_data = true
  }

  # The three counts of the load balancer the rate is computed from.
  dynamic "metric_query" {
    for_each = { target5xx = "HTTPCode_Target_5XX_Count", elb5xx = "HTTPCode_ELB_5XX_Count", requests = "RequestCount" }

    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = metric_query.value
        dimensions  = { LoadBalancer = var.alb_arn_suffix }
        period      = 60
        stat        = "Sum"
      }
    }
  }

  tags = var.tags
}

# The services log JSON (zerolog): count the worker's error lines.
resource "aws_cloudwatch_log_metric_filter" "worker_errors" {
  name           = "${var.name}-worker-errors"
  log_group_name = aws_cloudwatch_log_group.service["worker"].name
  pattern        = "{ $.level = \"error\" }"

  metric_transformation {
    name          = "WorkerErrors"
    namespace     = local.ns
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = toset(var.lambda_function_names)

  alarm_name          = "${each.key}-errors"
  alarm_description   = "Lambda function ${each.key} failed invocations."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# ---- dashboard ----
# Panels of 12x6 in two columns, in reading order; every panel shows this
# region at one-minute resolution.
locals {
  dashboard_panels = [
    {
      title = "Requests and 5xx", stat = "Sum"
      metrics = [
        ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.alb_arn_suffix],
        [".", "HTTPCode_Target_5XX_Count", ".", "."],
        [".", "HTTPCode_ELB_5XX_Count", ".", "."],
      ]
    },
    {
      title = "Latency (p50, p99)"
      metrics = [
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", var.alb_arn_suffix, { stat = "p50" }],
        ["...", { stat = "p99" }],
      ]
    },
    {
      title = "Queue backlog", stat = "Maximum"
      metrics = [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.queue_name],
        [".", "ApproximateNumberOfMessagesNotVisible", ".", "."],
        [".", "ApproximateNumberOfMessagesVisible", ".", var.dlq_name, { label = "DLQ" }],
      ]
    },
    {
      title   = "Oldest message age (s)", stat = "Maximum"
      metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", var.queue_name]]
    },
    {
      title = "Running tasks", stat = "Average"
      metrics = [
        ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.cluster_name, "ServiceName", var.service_names.proxy],
        ["...", var.service_names.worker],
      ]
    },
    {
      title = "Database", stat = "Average"
      metrics = [
        ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_identifier],
        [".", "DatabaseConnections", ".", "."],
        [local.ns, "WorkerErrors", { stat = "Sum", label = "worker errors" }],
      ]
    },
    {
      title = "Worker: messages by outcome (EMF)", stat = "Sum"
      metrics = [
        [local.ns, "worker_messages_total", "service", "worker", "outcome", "stored"],
        ["...", "duplicate"],
        ["...", "poisoned"],
        ["...", "failed"],
      ]
    },
    {
      title = "End-to-end lag, accepted to stored (s, EMF)", stat = "Maximum"
      metrics = [
        [local.ns, "e2e_lag_seconds_p50", "service", "worker"],
        [".", "e2e_lag_seconds_p99", ".", "."],
      ]
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      for i, p in local.dashboard_panels : {
        type       = "metric", x = 12 * (i % 2), y = 6 * floor(i / 2), width = 12, height = 6
        properties = merge({ region = local.region, period = 60 }, p)
      }
    ]
  })
}
