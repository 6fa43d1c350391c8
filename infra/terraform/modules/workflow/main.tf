# One Cloud Workflows workflow deployed from a file of workflows/ (the same YAML `bp run`
# interprets locally), with its service account and call logging.

resource "google_workflows_workflow" "workflow" {
  project             = var.project_id
  region              = var.region
  name                = var.name
  description         = var.description
  service_account     = var.service_account_email
  source_contents     = var.source_contents
  user_env_vars       = var.env
  call_log_level      = var.call_log_level
  labels              = var.labels
  deletion_protection = false # stateless: redeployed from workflows/*.yaml
}
