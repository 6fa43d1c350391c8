# The Docker repository for the job images. Tags are immutable (deploy.sh pushes a fresh tag
# per build) and jobs reference images by digest only; the cleanup policy keeps the newest
# versions of every image so a rollback to a recent digest always finds its image.

resource "google_artifact_registry_repository" "repo" {
  # checkov:skip=CKV_GCP_84:the images hold only open-source packages and this repository's code (no customer data); Google-managed encryption at rest is enough, and CMEK would add a KMS key ring the deployment must operate
  project                = var.project_id
  location               = var.location
  repository_id          = var.name
  format                 = "DOCKER"
  description            = "BlueprintPipeline job images (referenced by digest)."
  labels                 = var.labels
  cleanup_policy_dry_run = var.cleanup.dry_run

  docker_config {
    immutable_tags = true
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.cleanup.keep_recent
    }
  }

  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "${var.cleanup.untagged_days * 86400}s"
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "${var.cleanup.max_age_days * 86400}s"
    }
  }
}
