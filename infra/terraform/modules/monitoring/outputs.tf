output "metrics" {
  description = "Log-based metric names."
  value = {
    stage_failures    = google_logging_metric.stage_failures.name
    config_errors     = google_logging_metric.config_errors.name
    gate_decisions    = google_logging_metric.gate_decisions.name
    episodes_finished = google_logging_metric.episodes_finished.name
    stage_seconds     = google_logging_metric.stage_seconds.name
  }
}

output "alert_policies" {
  description = "Alert policy ids."
  value = [
    google_monitoring_alert_policy.permanent_failure.id,
    google_monitoring_alert_policy.retryable_failures.id,
    google_monitoring_alert_policy.config_errors.id,
    google_monitoring_alert_policy.gate_failed.id,
    google_monitoring_alert_policy.episode_success_rate.id,
  ]
}
