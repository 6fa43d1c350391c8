# Secret Manager secrets WITHOUT versions: values never pass through Terraform.

resource "google_secret_manager_secret" "secrets" {
  for_each  = var.secrets
  project   = var.project_id
  secret_id = each.key
  labels    = each.value.labels

  replication {
    auto {}
  }
}
