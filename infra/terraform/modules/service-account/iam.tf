# The only place in this configuration where a role is granted on the whole project.

resource "google_project_iam_member" "project_roles" {
  for_each = toset(var.iam_project_roles)
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.sa.email}"
}

locals {
  grants = merge({}, [
    for role, members in var.iam : { for m in members : "${role}|${m}" => { role = role, member = m } }
  ]...)
}

resource "google_service_account_iam_member" "members" {
  for_each           = local.grants
  service_account_id = google_service_account.sa.name
  role               = each.value.role
  member             = each.value.member
}
