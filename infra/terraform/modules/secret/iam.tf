# Accessors bound on each secret (never project-wide).

locals {
  grants = merge({}, [
    for id, s in var.secrets : { for m in s.accessors : "${id}|${m}" => { secret = id, member = m } }
  ]...)
}

resource "google_secret_manager_secret_iam_member" "accessors" {
  for_each  = local.grants
  project   = var.project_id
  secret_id = google_secret_manager_secret.secrets[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value.member
}
