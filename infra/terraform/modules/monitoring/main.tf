# Log-based metrics built from the JSON lines bp_sdk writes (bp_sdk.logs / bp_sdk.runner):
#   severity, message, logging.googleapis.com/labels {job, stage, scene, run, execution, task,
#   attempt} -> LogEntry.labels, every other key -> jsonPayload.
# tests/infra/test_monitoring.py runs real jobs and evaluates each filter and extractor
# below against the lines they print.

locals {
  # the pipeline's Cloud Run jobs (<prefix>-<stage>), not other jobs of the project
  scope = "resource.type=\"cloud_run_job\" AND resource.labels.job_name=~\"^${var.name_prefix}-\""
  # the stage label is "episodes" or "episodes[3/8]" for a shard: keep the stage name
  stage_extractor = "REGEXP_EXTRACT(labels.stage, \"^([a-z0-9_-]+)\")"
}

resource "google_logging_metric" "stage_failures" {
  project     = var.project_id
  name        = "${var.name_prefix}_stage_failures"
  description = "Failed job attempts (event stage_failed) by stage, permanence and error type."
  filter      = "${local.scope} AND jsonPayload.event=\"stage_failed\""
  label_extractors = {
    stage      = local.stage_extractor
    permanent  = "EXTRACT(jsonPayload.permanent)"
    error_type = "EXTRACT(jsonPayload.error_type)"
  }
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "stage"
      value_type  = "STRING"
      description = "Pipeline stage."
    }
    labels {
      key         = "permanent"
      value_type  = "STRING"
      description = "true: the failure marker says permanent (no retry); false: retryable."
    }
    labels {
      key         = "error_type"
      value_type  = "STRING"
      description = "Exception class recorded in the failure marker."
    }
  }
}

resource "google_logging_metric" "config_errors" {
  project     = var.project_id
  name        = "${var.name_prefix}_config_errors"
  description = "Jobs that refused to start: invalid settings (exit 2)."
  filter      = "${local.scope} AND severity>=ERROR AND jsonPayload.error_type=\"ConfigError\" AND NOT jsonPayload.event=\"stage_failed\""
  label_extractors = {
    job = "EXTRACT(labels.job)"
  }
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "job"
      value_type  = "STRING"
      description = "Job (bp-<stage>)."
    }
  }
}

resource "google_logging_metric" "gate_decisions" {
  project     = var.project_id
  name        = "${var.name_prefix}_gate_decisions"
  description = "Quality-gate decisions (event gate_decided) by outcome."
  filter      = "${local.scope} AND jsonPayload.event=\"gate_decided\""
  label_extractors = {
    passed = "EXTRACT(jsonPayload.passed)"
  }
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "passed"
      value_type  = "STRING"
      description = "true or false."
    }
  }
}

resource "google_logging_metric" "episodes_finished" {
  project     = var.project_id
  name        = "${var.name_prefix}_episodes_finished"
  description = "Simulated episodes (event episode_finished) by success and task kind; the success rate is the ratio."
  filter      = "${local.scope} AND jsonPayload.event=\"episode_finished\""
  label_extractors = {
    success   = "EXTRACT(jsonPayload.success)"
    task_kind = "EXTRACT(jsonPayload.task_kind)"
  }
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "success"
      value_type  = "STRING"
      description = "true or false."
    }
    labels {
      key         = "task_kind"
      value_type  = "STRING"
      description = "pick_place, push, open_drawer, ..."
    }
  }
}

resource "google_logging_metric" "stage_seconds" {
  project         = var.project_id
  name            = "${var.name_prefix}_stage_seconds"
  description     = "Wall time of committed stage attempts (event stage_committed, duration_s)."
  filter          = "${local.scope} AND jsonPayload.event=\"stage_committed\""
  value_extractor = "EXTRACT(jsonPayload.duration_s)"
  label_extractors = {
    stage = local.stage_extractor
  }
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "s"
    labels {
      key         = "stage"
      value_type  = "STRING"
      description = "Pipeline stage."
    }
  }
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 24
      growth_factor      = 2
      scale              = 1
    }
  }
}
