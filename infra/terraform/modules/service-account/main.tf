# One service account: the identity of one job, workflow engine or trigger.

resource "google_service_account" "sa" {
  project      = var.project_id
  account_id   = var.name
  display_name = var.name
  description  = var.description
}
