# BlueprintPipeline on one GCP project: buckets, Artifact Registry, one Cloud Run job per
# stage (stages.tf), the scheduled cleanup job. Identities and their grants: iam.tf;
# Workflows and Cloud Scheduler: workflows.tf; secrets: secrets.tf; alerts: monitoring.tf;
# the Warp kernel-cache bucket and its mount: kernel_cache.tf.

locals {
  labels = merge(var.labels, { "bp-deployment" = var.name_prefix })

  data_bucket     = coalesce(var.storage.data_bucket, "${var.project_id}-${var.name_prefix}-data")
  delivery_bucket = coalesce(var.storage.delivery_bucket, "${var.project_id}-${var.name_prefix}-delivery")
  log_bucket      = coalesce(var.storage.log_bucket, "${var.project_id}-${var.name_prefix}-logs")
  location        = coalesce(var.storage.location, var.region)
  # key prefix of the pipeline's root inside the data bucket ("" or "<prefix>/")
  root        = trimprefix("${var.storage.prefix}/", "/")
  storage_uri = trimsuffix("gs://${local.data_bucket}/${var.storage.prefix}", "/")

  registry = "${var.region}-docker.pkg.dev/${var.project_id}/${var.name_prefix}-images"

  # what every job gets from Terraform; the workflow adds SCENE_ID, RUN_ID, DATASET_ID
  # (REPORT_ID for report) and its `settings` map per execution
  common_env = {
    STORAGE_URI          = local.storage_uri
    PIPELINE_ENV         = "production"
    GOOGLE_CLOUD_PROJECT = var.project_id
    LOG_FORMAT           = "json"
  }

  images_needed  = toset(concat([for s in local.stages : s.image], [var.cleanup.image]))
  images_missing = setsubtract(local.images_needed, keys(var.image_digests))

  apis = [
    "artifactregistry.googleapis.com",
    "billingbudgets.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    "workflowexecutions.googleapis.com",
    "workflows.googleapis.com",
  ]
}

data "google_project" "this" {
  project_id = var.project_id
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# every image the stage map and the cleanup job name must have a digest
resource "terraform_data" "images" {
  input = sort(tolist(local.images_needed))
  lifecycle {
    precondition {
      condition     = length(local.images_missing) == 0
      error_message = "image_digests lacks ${join(", ", sort(tolist(local.images_missing)))}: run scripts/deploy.sh (it builds, pushes and writes images.auto.tfvars.json)."
    }
  }
}

module "registry" {
  source     = "./modules/artifact-registry"
  project_id = var.project_id
  location   = var.region
  name       = "${var.name_prefix}-images"
  labels     = local.labels
  depends_on = [google_project_service.apis]
}

# ---------------------------------------------------------------- buckets

module "log_bucket" {
  source        = "./modules/gcs-bucket"
  project_id    = var.project_id
  name          = local.log_bucket
  location      = local.location
  labels        = merge(local.labels, { "bp-bucket" = "logs" })
  force_destroy = var.storage.force_destroy
  versioning    = false
  lifecycle_rules = {
    expire = { action = { type = "Delete" }, condition = { age = var.storage.access_log_days } }
  }
  iam_members = {
    # Cloud Storage usage logs are written by this Google group (documented requirement)
    analytics = { role = "roles/storage.objectCreator", member = "group:cloud-storage-analytics@google.com" }
  }
  depends_on = [google_project_service.apis]
}

module "data_bucket" {
  source            = "./modules/gcs-bucket"
  project_id        = var.project_id
  name              = local.data_bucket
  location          = local.location
  labels            = merge(local.labels, { "bp-bucket" = "data" })
  force_destroy     = var.storage.force_destroy
  versioning        = true
  access_log_bucket = module.log_bucket.name
  # Lifecycle agrees with `bp cleanup`: no rule deletes a live object under scenes/ or
  # datasets/ (commit records, committed attempts, failure markers stay); uncommitted
  # attempt folders are removed by the scheduled cleanup job (a name prefix cannot tell a
  # committed attempt from an uncommitted one), and what it deletes becomes a noncurrent
  # version that expires here.
  lifecycle_rules = {
    noncurrent = {
      action    = { type = "Delete" }
      condition = { days_since_noncurrent_time = var.storage.noncurrent_days, with_state = "ARCHIVED" }
    }
    multipart = {
      action    = { type = "AbortIncompleteMultipartUpload" }
      condition = { age = 1 }
    }
    # a batch that died keeps its lease object; it expires logically after lease_seconds
    # (default 6 h) and is taken over, and is deleted here after lease_expiry_days
    stale-leases = {
      action    = { type = "Delete" }
      condition = { age = var.storage.lease_expiry_days, matches_suffix = ["/_LEASE.json"], with_state = "LIVE" }
    }
  }
  iam_members = local.data_bucket_grants
  managed_folders = {
    for c, spec in var.delivery.customers : "${local.root}deliveries/${c}/" => { "roles/storage.objectViewer" = spec.members }
  }
  depends_on = [google_project_service.apis]
}

module "delivery_bucket" {
  source            = "./modules/gcs-bucket"
  project_id        = var.project_id
  name              = local.delivery_bucket
  location          = local.location
  labels            = merge(local.labels, { "bp-bucket" = "delivery" })
  force_destroy     = var.storage.force_destroy
  versioning        = false # a retention policy protects deliveries (the two are exclusive)
  retention_policy  = { days = var.delivery.retention_days }
  access_log_bucket = module.log_bucket.name
  lifecycle_rules = {
    multipart = {
      action    = { type = "AbortIncompleteMultipartUpload" }
      condition = { age = 1 }
    }
  }
  iam_members = local.delivery_bucket_grants
  managed_folders = {
    for c, spec in var.delivery.customers : "${c}/" => { "roles/storage.objectViewer" = spec.members }
  }
  depends_on = [google_project_service.apis]
}

# ---------------------------------------------------------------- Cloud Run jobs

module "stage_jobs" {
  source                = "./modules/cloud-run-job"
  for_each              = local.stages
  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name_prefix}-${each.key}"
  image                 = "${local.registry}/${each.value.image}@${var.image_digests[each.value.image]}"
  service_account_email = module.job_sa[each.key].email
  env                   = merge(each.value.env, try(var.job_settings[each.key], {}), local.common_env, local.kernel_cache_env[each.key], { BUILD_IMAGE_DIGEST = var.image_digests[each.value.image] })
  resources             = { cpu = each.value.cpu, memory_gib = each.value.memory_gib, gpu = each.value.gpu, gpu_type = each.value.gpu_type }
  execution             = { timeout_s = each.value.timeout_s, max_retries = each.value.max_retries, task_count = each.value.task_count, parallelism = each.value.parallelism }
  # the Warp kernel cache, read-write, where EPISODES_WARP_KERNEL_CACHE points (kernel_cache.tf)
  gcs_volumes = local.kernel_cache_volumes[each.key]
  # GPU jobs are launched through the Cloud Run BETA surface (gcloud beta run jobs --gpu)
  launch_stage = each.value.gpu > 0 ? "BETA" : null
  labels       = merge(local.labels, { "bp-stage" = each.key })
  # the Workflows identity runs each job with env overrides and a task count
  iam = { "roles/run.developer" = [module.workflows_sa.iam_email] }
  # the cache bucket and its grant exist before a job can mount it
  depends_on = [module.registry, terraform_data.images, module.kernel_cache_bucket]
}

# Not a stage: the SDK's `bp-cleanup` (present in every job image) on a schedule, so
# uncommitted attempts expire as `bp cleanup` defines it.
module "cleanup_job" {
  count                 = var.cleanup.enabled ? 1 : 0
  source                = "./modules/cloud-run-job"
  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name_prefix}-cleanup"
  image                 = "${local.registry}/${var.cleanup.image}@${var.image_digests[var.cleanup.image]}"
  service_account_email = module.cleanup_sa.email
  command               = ["bp-cleanup"]
  args                  = ["--storage", local.storage_uri, "--grace", var.cleanup.grace]
  env                   = { GOOGLE_CLOUD_PROJECT = var.project_id }
  resources             = { cpu = 1, memory_gib = 2 }
  execution             = { timeout_s = 3600, max_retries = 1 }
  labels                = merge(local.labels, { "bp-stage" = "cleanup" })
  iam                   = { "roles/run.invoker" = [module.cleanup_trigger_sa.iam_email] }
  depends_on            = [module.registry, terraform_data.images]
}
