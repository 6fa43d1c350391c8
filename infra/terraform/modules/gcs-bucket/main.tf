# One Cloud Storage bucket: uniform bucket-level access, public access prevention enforced,
# versioning or a retention policy, lifecycle rules, usage logging, managed folders, and
# optionally a hierarchical namespace (real folders, atomic folder renames).

resource "google_storage_bucket" "bucket" {
  # checkov:skip=CKV_GCP_78:versioning is a per-bucket choice (var.versioning): on for the data bucket (tests/infra asserts it); off where a retention policy protects objects instead (delivery: the two are exclusive), for append-only usage logs, and for the Warp kernel cache (rebuilt on a miss; hierarchical namespace excludes versioning)
  project                     = var.project_id
  name                        = var.name
  location                    = var.location
  labels                      = var.labels
  force_destroy               = var.force_destroy
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = var.versioning
  }

  # only where asked for: the block is create-only, and existing buckets never had it
  dynamic "hierarchical_namespace" {
    for_each = var.hierarchical_namespace ? [true] : []
    content {
      enabled = true
    }
  }

  soft_delete_policy {
    retention_duration_seconds = var.soft_delete_days * 86400
  }

  dynamic "lifecycle_rule" {
    for_each = var.lifecycle_rules
    content {
      action {
        type          = lifecycle_rule.value.action.type
        storage_class = lifecycle_rule.value.action.storage_class
      }
      condition {
        age                        = lifecycle_rule.value.condition.age
        days_since_noncurrent_time = lifecycle_rule.value.condition.days_since_noncurrent_time
        num_newer_versions         = lifecycle_rule.value.condition.num_newer_versions
        with_state                 = lifecycle_rule.value.condition.with_state
        matches_prefix             = lifecycle_rule.value.condition.matches_prefix
        matches_suffix             = lifecycle_rule.value.condition.matches_suffix
      }
    }
  }

  dynamic "retention_policy" {
    for_each = var.retention_policy == null ? [] : [var.retention_policy]
    content {
      retention_period = retention_policy.value.days * 86400
      is_locked        = retention_policy.value.is_locked
    }
  }

  dynamic "logging" {
    for_each = var.access_log_bucket == null ? [] : [var.access_log_bucket]
    content {
      log_bucket        = logging.value
      log_object_prefix = var.name
    }
  }

  lifecycle {
    precondition {
      condition     = !(var.versioning && var.retention_policy != null)
      error_message = "Cloud Storage does not allow versioning and a retention policy on the same bucket."
    }
    precondition {
      condition     = !(var.hierarchical_namespace && var.versioning)
      error_message = "A bucket with a hierarchical namespace cannot keep object versions: set versioning = false."
    }
  }
}

resource "google_storage_managed_folder" "folders" {
  for_each = var.managed_folders
  bucket   = google_storage_bucket.bucket.name
  name     = each.key
}
