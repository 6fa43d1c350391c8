locals {
  grants = merge({}, [
    for role, members in var.iam : { for m in members : "${role}|${m}" => { role = role, member = m } }
  ]...)
}

resource "google_artifact_registry_repository_iam_member" "members" {
  for_each   = local.grants
  project    = var.project_id
  location   = var.location
  repository = google_artifact_registry_repository.repo.name
  role       = each.value.role
  member     = each.value.member
}
