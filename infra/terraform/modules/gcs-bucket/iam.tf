# IAM on the bucket and on its managed folders (never on the project).

resource "google_storage_bucket_iam_member" "members" {
  for_each = var.iam_members
  bucket   = google_storage_bucket.bucket.name
  role     = each.value.role
  member   = each.value.member

  dynamic "condition" {
    for_each = each.value.condition == null ? [] : [each.value.condition]
    content {
      title       = condition.value.title
      expression  = condition.value.expression
      description = condition.value.description
    }
  }
}

locals {
  folder_grants = merge({}, [
    for folder, roles in var.managed_folders : merge({}, [
      for role, members in roles : {
        for member in members : "${folder}|${role}|${member}" => { folder = folder, role = role, member = member }
      }
    ]...)
  ]...)
}

resource "google_storage_managed_folder_iam_member" "members" {
  for_each       = local.folder_grants
  bucket         = google_storage_bucket.bucket.name
  managed_folder = google_storage_managed_folder.folders[each.value.folder].name
  role           = each.value.role
  member         = each.value.member
}
