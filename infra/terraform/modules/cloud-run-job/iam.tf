locals {
  grants = merge({}, [
    for role, members in var.iam : { for m in members : "${role}|${m}" => { role = role, member = m } }
  ]...)
}

resource "google_cloud_run_v2_job_iam_member" "members" {
  for_each = local.grants
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.job.name
  role     = each.value.role
  member   = each.value.member
}
