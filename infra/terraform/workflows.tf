# Cloud Workflows `pipeline` and `batch` from workflows/*.yaml (the same files `bp run`
# interprets locally), and the Cloud Scheduler jobs that start batch and the cleanup job.

locals {
  # BP_PREFIX only when there is one (the YAML reads a missing variable as "")
  workflow_env = merge(
    {
      BP_BUCKET            = local.data_bucket
      BP_JOB_PREFIX        = var.name_prefix
      BP_PIPELINE_WORKFLOW = var.workflows.pipeline_name
    },
    var.storage.prefix == "" ? {} : { BP_PREFIX = var.storage.prefix },
  )

  # batch's runtime arguments (workflows/batch.yaml); a run id is never reused for other
  # inputs, so the default run id is a digest of everything that changes the outputs
  batch_given = { for k, v in var.schedule.arguments : k => v if v != null && k != "run_id" }
  batch_run_id = coalesce(
    var.schedule.arguments.run_id,
    "sched-${substr(sha256(jsonencode(local.batch_given)), 0, 16)}",
  )
  batch_arguments = merge(local.batch_given, { run_id = local.batch_run_id })
}

module "pipeline_workflow" {
  source                = "./modules/workflow"
  project_id            = var.project_id
  region                = var.region
  name                  = var.workflows.pipeline_name
  description           = "One scene, one run: every stage as a Cloud Run job (workflows/pipeline.yaml)."
  source_contents       = file("${path.module}/../../workflows/pipeline.yaml")
  service_account_email = module.workflows_sa.email
  env                   = local.workflow_env
  call_log_level        = var.workflows.call_log_level
  labels                = local.labels
  depends_on            = [google_project_service.apis]
}

module "batch_workflow" {
  source                = "./modules/workflow"
  project_id            = var.project_id
  region                = var.region
  name                  = var.workflows.batch_name
  description           = "Every ready scene through pipeline, with leases and a concurrency limit (workflows/batch.yaml)."
  source_contents       = file("${path.module}/../../workflows/batch.yaml")
  service_account_email = module.workflows_sa.email
  env                   = local.workflow_env
  call_log_level        = var.workflows.call_log_level
  labels                = local.labels
  depends_on            = [google_project_service.apis]
}

resource "google_cloud_scheduler_job" "batch" {
  count            = var.schedule.enabled ? 1 : 0
  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-batch"
  description      = "Starts the ${var.workflows.batch_name} workflow (run id ${local.batch_run_id})."
  schedule         = var.schedule.cron
  time_zone        = var.schedule.time_zone
  paused           = var.schedule.paused
  attempt_deadline = "180s"

  # creating an execution is idempotent enough: a second batch skips leased scenes
  retry_config {
    retry_count          = 2
    min_backoff_duration = "30s"
  }

  http_target {
    http_method = "POST"
    uri         = "https://workflowexecutions.googleapis.com/v1/${module.batch_workflow.id}/executions"
    headers     = { "Content-Type" = "application/json" }
    body = base64encode(jsonencode({
      argument     = jsonencode(local.batch_arguments)
      callLogLevel = var.workflows.call_log_level
    }))
    oauth_token {
      service_account_email = module.scheduler_sa.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_cloud_scheduler_job" "cleanup" {
  count            = var.cleanup.enabled ? 1 : 0
  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-cleanup"
  description      = "Runs the ${var.name_prefix}-cleanup job (bp-cleanup --grace ${var.cleanup.grace})."
  schedule         = var.cleanup.cron
  time_zone        = var.cleanup.time_zone
  attempt_deadline = "180s"

  retry_config {
    retry_count = 1
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/${module.cleanup_job[0].id}:run"
    oauth_token {
      service_account_email = module.cleanup_trigger_sa.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_project_service.apis]
}
