# Alert policies on the log-based metrics. Every policy notifies var.notification_channels.

locals {
  metric = {
    stage_failures    = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.stage_failures.name}\" AND resource.type=\"cloud_run_job\""
    config_errors     = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.config_errors.name}\" AND resource.type=\"cloud_run_job\""
    gate_decisions    = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.gate_decisions.name}\" AND resource.type=\"cloud_run_job\""
    episodes_finished = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.episodes_finished.name}\" AND resource.type=\"cloud_run_job\""
  }
}

resource "google_monitoring_alert_policy" "permanent_failure" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: a stage failed permanently"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  documentation {
    mime_type = "text/markdown"
    content   = "A job wrote a permanent failure marker: the run stopped. Read the marker (its key is in the log line's jsonPayload.marker) and its next_step."
  }
  conditions {
    display_name = "permanent stage failures > 0"
    condition_threshold {
      filter          = "${local.metric.stage_failures} AND metric.label.permanent=\"true\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.stage"]
      }
      trigger {
        count = 1
      }
    }
  }
  alert_strategy {
    auto_close = "86400s"
  }
}

resource "google_monitoring_alert_policy" "retryable_failures" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: many retryable stage failures"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels
  documentation {
    mime_type = "text/markdown"
    content   = "More retryable failures in an hour than expected: a dependency (storage, quota, GPU capacity) may be failing. Each transient failure costs at most 6 task attempts (see infra/terraform/README.md)."
  }
  conditions {
    display_name = "retryable stage failures per hour"
    condition_threshold {
      filter          = "${local.metric.stage_failures} AND metric.label.permanent=\"false\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.thresholds.retryable_failures_per_hour
      duration        = "0s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }
  alert_strategy {
    auto_close = "86400s"
  }
}

resource "google_monitoring_alert_policy" "config_errors" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: a job refused its configuration"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  documentation {
    mime_type = "text/markdown"
    content   = "A job exited 2 (invalid settings): the Terraform env, the workflow's settings or the job image disagree. The log line lists every problem by variable name."
  }
  conditions {
    display_name = "configuration errors > 0"
    condition_threshold {
      filter          = local.metric.config_errors
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.job"]
      }
      trigger {
        count = 1
      }
    }
  }
  alert_strategy {
    auto_close = "86400s"
  }
}

resource "google_monitoring_alert_policy" "gate_failed" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: a dataset failed the quality gate"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels
  documentation {
    mime_type = "text/markdown"
    content   = "The gate committed a failing decision: delivery is blocked unless `bp approve` records an approval for every failed threshold check (integrity failures need a new export)."
  }
  conditions {
    display_name = "failed gate decisions > 0"
    condition_threshold {
      filter          = "${local.metric.gate_decisions} AND metric.label.passed=\"false\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }
  alert_strategy {
    auto_close = "86400s"
  }
}

resource "google_monitoring_alert_policy" "episode_success_rate" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: episode success rate is low"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels
  documentation {
    mime_type = "text/markdown"
    content   = "Over the last hour, the share of failed episodes is above 1 - min_episode_success_rate: the scripted expert or the scenes regressed. Failed episodes carry their failure_reason."
  }
  conditions {
    display_name = "failed / all episodes over an hour"
    condition_threshold {
      filter             = "${local.metric.episodes_finished} AND metric.label.success=\"false\""
      denominator_filter = local.metric.episodes_finished
      comparison         = "COMPARISON_GT"
      threshold_value    = 1 - var.thresholds.min_episode_success_rate
      duration           = "0s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }
  alert_strategy {
    auto_close = "86400s"
  }
}
