# Log-based metrics from the fields bp_sdk writes, alert policies and the budget alert.

module "monitoring" {
  source                = "./modules/monitoring"
  project_id            = var.project_id
  project_number        = data.google_project.this.number
  name_prefix           = var.name_prefix
  notification_channels = var.monitoring.notification_channels
  thresholds = {
    retryable_failures_per_hour = var.monitoring.retryable_failures_per_hour
    min_episode_success_rate    = var.monitoring.min_episode_success_rate
  }
  budget     = var.monitoring.budget
  depends_on = [google_project_service.apis]
}
