# Identities and what they may do. Resource-level grants live on the resources (bucket,
# managed folders, jobs, secrets); project-wide roles only where no resource-level grant
# exists (tests/infra checks each against an allowlist with its reason):
#   roles/logging.logWriter   write log entries (Workflows call logging; jobs' API logging)
#   roles/workflows.invoker   Workflows grants this on the project only (no per-workflow IAM)

# one identity per stage job
module "job_sa" {
  source            = "./modules/service-account"
  for_each          = local.stages
  project_id        = var.project_id
  name              = "${var.name_prefix}-${each.key}"
  description       = "Cloud Run job ${var.name_prefix}-${each.key}: reads ${join(", ", each.value.reads)}; creates under ${join(", ", each.value.writes)}."
  iam_project_roles = ["roles/logging.logWriter"]
}

# Cloud Workflows (pipeline and batch): runs the jobs (roles/run.developer on each job, in
# main.tf), reads markers and commit records, creates/deletes lease objects, starts child
# `pipeline` executions, writes call logs
module "workflows_sa" {
  source            = "./modules/service-account"
  project_id        = var.project_id
  name              = "${var.name_prefix}-workflows"
  description       = "Cloud Workflows pipeline and batch."
  iam_project_roles = ["roles/logging.logWriter", "roles/workflows.invoker"]
}

# Cloud Scheduler: may only start workflow executions (it starts batch)
module "scheduler_sa" {
  source            = "./modules/service-account"
  project_id        = var.project_id
  name              = "${var.name_prefix}-scheduler"
  description       = "Cloud Scheduler: starts the batch workflow."
  iam_project_roles = ["roles/workflows.invoker"]
}

# the cleanup job and its trigger (run.invoker on that one job only, in main.tf)
module "cleanup_sa" {
  source            = "./modules/service-account"
  project_id        = var.project_id
  name              = "${var.name_prefix}-cleanup"
  description       = "bp-cleanup: deletes uncommitted attempt files after the grace period."
  iam_project_roles = ["roles/logging.logWriter"]
}

module "cleanup_trigger_sa" {
  source      = "./modules/service-account"
  project_id  = var.project_id
  name        = "${var.name_prefix}-cleanup-trigger"
  description = "Cloud Scheduler: starts the cleanup job."
}

# signed-URL delivery: operators listed in delivery.signers mint V4 signed URLs as this
# account (gcloud storage sign-url --impersonate-service-account); it reads the delivery bucket
module "delivery_signer_sa" {
  source      = "./modules/service-account"
  project_id  = var.project_id
  name        = "${var.name_prefix}-delivery-signer"
  description = "Signs V4 URLs for deliveries (read-only on the delivery bucket)."
  iam         = length(var.delivery.signers) == 0 ? {} : { "roles/iam.serviceAccountTokenCreator" = var.delivery.signers }
}

locals {
  objects = "projects/_/buckets/${local.data_bucket}/objects/${local.root}"
  # an object-name condition; listing is checked on the bucket, so readers also get the
  # bucket itself (they see names, and read only objects under their prefixes)
  under = { for k, s in local.stages : k => {
    read  = join(" || ", [for p in s.reads : "resource.name.startsWith(\"${local.objects}${p}\")"])
    write = join(" || ", [for p in s.writes : "resource.name.startsWith(\"${local.objects}${p}\")"])
  } }
  bucket_itself = "resource.type == \"storage.googleapis.com/Bucket\""
  scene_and_dataset_objects = join(" || ", [
    "resource.name.startsWith(\"${local.objects}scenes/\")",
    "resource.name.startsWith(\"${local.objects}datasets/\")",
  ])

  data_bucket_grants = merge(
    { for k, s in local.stages : "${k}-read" => {
      role   = "roles/storage.objectViewer"
      member = module.job_sa[k].iam_email
      condition = {
        title      = "${k}-read"
        expression = "${local.bucket_itself} || (${local.under[k].read})"
      }
    } },
    # create only: jobs never overwrite or delete (attempt folders, create-if-absent records)
    { for k, s in local.stages : "${k}-create" => {
      role   = "roles/storage.objectCreator"
      member = module.job_sa[k].iam_email
      condition = {
        title      = "${k}-create"
        expression = local.under[k].write
      }
    } },
    {
      workflows-read = {
        role   = "roles/storage.objectViewer"
        member = module.workflows_sa.iam_email
        condition = {
          title      = "workflows-read"
          expression = "${local.bucket_itself} || ${local.scene_and_dataset_objects}"
        }
      }
      workflows-leases = {
        role   = "roles/storage.objectUser"
        member = module.workflows_sa.iam_email
        condition = {
          title      = "workflows-leases"
          expression = "resource.name.startsWith(\"${local.objects}scenes/\") && resource.name.endsWith(\"/_LEASE.json\")"
        }
      }
      cleanup-read = {
        role   = "roles/storage.objectViewer"
        member = module.cleanup_sa.iam_email
        condition = {
          title      = "cleanup-read"
          expression = "${local.bucket_itself} || ${local.scene_and_dataset_objects}"
        }
      }
      cleanup-delete = {
        role   = "roles/storage.objectUser"
        member = module.cleanup_sa.iam_email
        condition = {
          title      = "cleanup-attempts"
          expression = "(${local.scene_and_dataset_objects}) && resource.name.extract(\"/attempts/{attempt}/\") != \"\""
        }
      }
    },
  )

  delivery_bucket_grants = merge(
    { for k, s in local.stages : "${k}-deliver-create" => {
      role   = "roles/storage.objectCreator"
      member = module.job_sa[k].iam_email
    } if s.delivery },
    { for k, s in local.stages : "${k}-deliver-read" => {
      role   = "roles/storage.objectViewer"
      member = module.job_sa[k].iam_email
    } if s.delivery },
    {
      signer-read = { role = "roles/storage.objectViewer", member = module.delivery_signer_sa.iam_email }
    },
  )
}
