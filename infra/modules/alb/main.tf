# ---- certificate, validated through DNS ----
resource "aws_acm_certificate" "this" {
  domain_name       = var.hostname
  validation_method = "DNS"
  tags              = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = {
    for o in aws_acm_certificate.this.domain_validation_options : o.domain_name => {
      name   = o.resource_record_name
      type   = o.resource_record_type
      record = o.resource_record_value
    }
  }

  zone_id         = var.hosted_zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

# ---- load balancer ----
resource "aws_lb" "this" {
  name                       = substr(var.name, 0, 32)
  load_balancer_type         = "application"
  internal                   = false #tfsec:ignore:aws-elb-alb-not-public the public entry point of the service
  security_groups            = [var.security_group_id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 30

  access_logs {
    bucket  = aws_s3_bucket.access_logs.id
    prefix  = "alb"
    enabled = true
  }

  tags = var.tags

  # The bucket policy must let the load balancer write before it is told to.
  depends_on = [aws_s3_bucket_policy.access_logs]
}

resource "aws_lb_target_group" "proxy" {
  name                 = substr("${var.name}-proxy", 0, 32)
  port                 = var.proxy_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 15 # shorter than the proxy's 20 s graceful shutdown

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP" #tfsec:ignore:aws-elb-http-not-used only redirects to HTTPS

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = aws_acm_certificate_validation.this.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.proxy.arn
  }

  tags = var.tags
}

# The proxy serves Prometheus text at /metrics for whatever scrapes it inside
# the VPC; the internet gets a 404 for it from the load balancer.
resource "aws_lb_listener_rule" "hide_metrics" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      message_body = jsonencode({ error = "no such endpoint" })
      status_code  = "404"
    }
  }

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }

  tags = var.tags
}

# ---- DNS ----
resource "aws_route53_record" "alias" {
  zone_id = var.hosted_zone_id
  name    = var.hostname
  type    = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}

# ---- access logs: a private, encrypted, TLS-only bucket ----
data "aws_caller_identity" "current" {}

# The regional Elastic Load Balancing account that writes the logs (regions
# opened before August 2022; newer ones use the log delivery service).
data "aws_elb_service_account" "this" {}

#tfsec:ignore:aws-s3-enable-bucket-logging access logs of the access-log bucket would need another bucket; CloudTrail data events can cover it
resource "aws_s3_bucket" "access_logs" {
  bucket_prefix = "${var.name}-alb-logs-"
  force_destroy = !var.deletion_protection
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

# ALB access logs support only SSE-S3 (AES256), not KMS keys.
#tfsec:ignore:aws-s3-encryption-customer-key ALB log delivery supports only SSE-S3
resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
  }
}

module "access_logs_tls_only" {
  source     = "../s3-tls-only"
  bucket_arn = aws_s3_bucket.access_logs.arn
}

locals {
  access_logs_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ElbWrites"
        Effect    = "Allow"
        Principal = { AWS = data.aws_elb_service_account.this.arn } # no-source-account: the regional ELB account, limited to this account's prefix below
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.access_logs.arn}/alb/AWSLogs/${data.aws_caller_identity.current.account_id}/*"
      },
      {
        Sid       = "LogDeliveryWrites"
        Effect    = "Allow"
        Principal = { Service = "logdelivery.elasticloadbalancing.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.access_logs.arn}/alb/AWSLogs/${data.aws_caller_identity.current.account_id}/*"
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
      },
      module.access_logs_tls_only.statement,
    ]
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = jsonencode(local.access_logs_policy)

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

# ---- WAF: per-client rate limit in front of the proxy's own ----
locals {
  # The rules in the API's JSON form (rule_json).
  waf_rules = [
    {
      Name     = "rate-per-ip"
      Priority = 1
      Action   = { Block = {} }
      Statement = {
        RateBasedStatement = { Limit = var.waf_rate_limit_per_5min, EvaluationWindowSec = 300, AggregateKeyType = "IP" }
      }
      VisibilityConfig = { CloudWatchMetricsEnabled = true, MetricName = "${var.name}-rate-per-ip", SampledRequestsEnabled = true }
    },
    {
      Name           = "aws-common"
      Priority       = 2
      OverrideAction = { None = {} }
      Statement = {
        ManagedRuleGroupStatement = { VendorName = "AWS", Name = "AWSManagedRulesCommonRuleSet" }
      }
      VisibilityConfig = { CloudWatchMetricsEnabled = true, MetricName = "${var.name}-aws-common", SampledRequestsEnabled = true }
    },
  ]
}

resource "aws_wafv2_web_acl" "this" {
  name        = var.name
  description = "${var.name}: per-IP rate limit and AWS common rules"
  scope       = "REGIONAL"
  rule_json   = jsonencode(local.waf_rules)

  default_action {
    allow {}
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "this" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this.arn
}
