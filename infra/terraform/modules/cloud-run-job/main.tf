# One Cloud Run v2 job. The root module instantiates it once per entry of the stage map
# (stages.tf), so adding a stage is one map entry.

locals {
  gpu = var.resources.gpu > 0
  limits = merge(
    { cpu = tostring(var.resources.cpu), memory = "${var.resources.memory_gib}Gi" },
    local.gpu ? { "nvidia.com/gpu" = tostring(var.resources.gpu) } : {},
  )
}

resource "google_cloud_run_v2_job" "job" {
  project             = var.project_id
  location            = var.region
  name                = var.name
  labels              = var.labels
  launch_stage        = var.launch_stage
  deletion_protection = var.deletion_protection

  template {
    labels      = var.labels
    task_count  = var.execution.task_count
    parallelism = var.execution.parallelism

    template {
      service_account       = var.service_account_email
      timeout               = "${var.execution.timeout_s}s"
      max_retries           = var.execution.max_retries
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"
      # GPU jobs: best-effort zonal placement is cheaper per GPU-second and has its own quota
      gpu_zonal_redundancy_disabled = local.gpu ? true : null

      dynamic "node_selector" {
        for_each = local.gpu ? [var.resources.gpu_type] : []
        content {
          accelerator = node_selector.value
        }
      }

      # Cloud Storage buckets through Cloud Storage FUSE (needs the gen2 environment, above)
      dynamic "volumes" {
        for_each = var.gcs_volumes
        content {
          name = volumes.key
          gcs {
            bucket    = volumes.value.bucket
            read_only = volumes.value.read_only
          }
        }
      }

      containers {
        name    = "job"
        image   = var.image
        command = var.command
        args    = var.args

        resources {
          limits = local.limits
        }

        dynamic "volume_mounts" {
          for_each = var.gcs_volumes
          content {
            name       = volume_mounts.key
            mount_path = volume_mounts.value.mount_path
          }
        }

        dynamic "env" {
          for_each = var.env
          content {
            name  = env.key
            value = env.value
          }
        }
      }
    }
  }
}
