variable "project_id" {
  description = "The GCP project this deployment lives in (one deployment per project)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id (6-30 lowercase letters, digits and '-')."
  }
}

variable "region" {
  description = "Region of every regional resource. The episodes job needs Cloud Run GPUs (nvidia-l4) here: e.g. us-central1, europe-west1, europe-west4, asia-southeast1."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a region such as europe-west4."
  }
}

variable "name_prefix" {
  description = "Prefix of job, service account, metric and bucket names: jobs are <name_prefix>-<stage> (the workflows' BP_JOB_PREFIX)."
  type        = string
  default     = "bp"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,13}$", var.name_prefix))
    error_message = "name_prefix must be 2-14 lowercase letters, digits and '-', starting with a letter."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes labels (billing export attributes cost by them)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "labels: keys start with a lowercase letter; keys and values use lowercase letters, digits, '_' and '-'."
  }
}

variable "image_digests" {
  description = "Digest of every job image by image name (bp-<job>, bp-episodes-gpu), e.g. written by scripts/deploy.sh into images.auto.tfvars.json. Jobs run <region>-docker.pkg.dev/<project>/<prefix>-images/<image>@<digest>: never a tag."
  type        = map(string)
  default     = {} # the first, targeted apply (APIs, registry) runs before any image exists
  validation {
    condition     = alltrue([for name, digest in var.image_digests : can(regex("^bp-[a-z0-9-]+$", name)) && can(regex("^sha256:[0-9a-f]{64}$", digest))])
    error_message = "image_digests: keys are image names (bp-<job>), values are sha256:<64 hex> digests."
  }
}

variable "storage" {
  description = "Buckets: names (default <project>-<prefix>-data / -delivery / -logs / -warp-cache), location (default: region), the storage prefix under which the pipeline keeps scenes/ and datasets/ (BP_PREFIX), how long noncurrent versions and stale lease objects stay, how long usage logs are kept, and after how many days compiled Warp kernels expire from the kernel cache (a miss recompiles once)."
  type = object({
    data_bucket         = optional(string)
    delivery_bucket     = optional(string)
    log_bucket          = optional(string)
    kernel_cache_bucket = optional(string)
    location            = optional(string)
    prefix              = optional(string, "")
    noncurrent_days     = optional(number, 30)
    lease_expiry_days   = optional(number, 7)
    access_log_days     = optional(number, 365)
    kernel_cache_days   = optional(number, 90)
    force_destroy       = optional(bool, false)
  })
  default = {}
  validation {
    condition = (
      can(regex("^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$", var.storage.prefix))
      && var.storage.noncurrent_days >= 1
      && var.storage.lease_expiry_days >= 2
      && var.storage.access_log_days >= 1
      && var.storage.kernel_cache_days >= 1
      && can(regex("^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$", coalesce(var.storage.kernel_cache_bucket, "unset")))
    )
    error_message = "storage: prefix is path segments without leading or trailing '/'; noncurrent_days >= 1; lease_expiry_days >= 2 (longer than batch's lease_seconds); access_log_days >= 1; kernel_cache_days >= 1; kernel_cache_bucket, if set, is a bucket name."
  }
}

variable "delivery" {
  description = "Delivery: the customer a run delivers to unless the workflow's settings name another (DELIVER_CUSTOMER_ID), the identities whose approvals of a failed gate deliver accepts, each customer's principals (read access to its own folder only), the delivery bucket's retention, and who may sign URLs as the delivery signer."
  type = object({
    default_customer = optional(string, "internal")
    approvers        = optional(list(string), [])
    customers = optional(map(object({
      members = list(string)
    })), {})
    retention_days = optional(number, 30)
    signers        = optional(list(string), [])
  })
  default = {}
  validation {
    condition = (
      can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", var.delivery.default_customer))
      && alltrue([for c in keys(var.delivery.customers) : can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", c))])
      && alltrue([for a in var.delivery.approvers : can(regex("^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$", a))])
      && alltrue(flatten([for c in values(var.delivery.customers) : [for m in c.members : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):", m))]]))
      && alltrue([for s in var.delivery.signers : can(regex("^(user|group|serviceAccount):", s))])
      && var.delivery.retention_days >= 1
    )
    error_message = "delivery: customer ids are identifiers (letters, digits, '_', '-'); approvers are emails; customer members and signers are IAM members (user:, group:, serviceAccount:, ...); retention_days >= 1."
  }
}

variable "job_settings" {
  description = "Extra settings baked into a stage's job, by stage: { episodes = { EPISODES_PER_TASK = \"4\" } }. The workflow's `settings` argument overrides them per run. Infrastructure settings (STORAGE_URI, PIPELINE_ENV, EPISODES_WARP_KERNEL_CACHE, ...) cannot be overridden here."
  type        = map(map(string))
  default     = {}
  validation {
    condition = alltrue(flatten([
      for stage, env in var.job_settings : [
        for k in keys(env) : can(regex("^[a-z]+$", stage)) && can(regex("^[A-Z][A-Z0-9_]*$", k))
        && !contains(["STORAGE_URI", "PIPELINE_ENV", "GOOGLE_CLOUD_PROJECT", "LOG_FORMAT", "BUILD_IMAGE_DIGEST", "SCENE_ID", "RUN_ID", "DATASET_ID", "REPORT_ID", "EPISODES_WARP_KERNEL_CACHE"], k)
      ]
    ]))
    error_message = "job_settings: stage names in lowercase, settings in UPPER_SNAKE_CASE, and none of the infrastructure or per-run settings."
  }
}

variable "episodes_parallelism" {
  description = "Episodes tasks (GPUs) running at once; keep it at or below the region's Cloud Run L4 quota."
  type        = number
  default     = 2
  validation {
    condition     = var.episodes_parallelism >= 1 && var.episodes_parallelism <= 100
    error_message = "episodes_parallelism must be between 1 and 100."
  }
}

variable "workflows" {
  description = "Workflow names (the CLI and the batch workflow call `pipeline` by default) and their call logging."
  type = object({
    pipeline_name  = optional(string, "pipeline")
    batch_name     = optional(string, "batch")
    call_log_level = optional(string, "LOG_ERRORS_ONLY")
  })
  default = {}
  validation {
    condition = (
      can(regex("^[a-zA-Z][a-zA-Z0-9_-]{0,63}$", var.workflows.pipeline_name))
      && can(regex("^[a-zA-Z][a-zA-Z0-9_-]{0,63}$", var.workflows.batch_name))
      && var.workflows.pipeline_name != var.workflows.batch_name
      && contains(["LOG_ALL_CALLS", "LOG_ERRORS_ONLY", "LOG_NONE"], var.workflows.call_log_level)
    )
    error_message = "workflows: two distinct workflow names; call_log_level LOG_ALL_CALLS, LOG_ERRORS_ONLY or LOG_NONE."
  }
}

variable "schedule" {
  description = "Cloud Scheduler job that starts the batch workflow: cron, time zone, and the batch's runtime arguments (see the header of workflows/batch.yaml). run_id defaults to a digest of the other arguments, so changed settings get a new run id (a run id is never reused for other inputs)."
  type = object({
    enabled   = optional(bool, true)
    paused    = optional(bool, false)
    cron      = optional(string, "0 2 * * *")
    time_zone = optional(string, "Etc/UTC")
    arguments = optional(object({
      run_id            = optional(string)
      settings          = optional(map(string), {})
      episodes_shards   = optional(number)
      until             = optional(string)
      concurrency_limit = optional(number)
      lease_seconds     = optional(number)
      page_size         = optional(number)
    }), {})
  })
  default = {}
  validation {
    condition = (
      length(split(" ", trimspace(var.schedule.cron))) == 5
      && can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.schedule.time_zone))
      && (var.schedule.arguments.run_id == null || can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", coalesce(var.schedule.arguments.run_id, "x"))))
      && (var.schedule.arguments.episodes_shards == null || try(var.schedule.arguments.episodes_shards >= 1, false))
      && (var.schedule.arguments.concurrency_limit == null || try(var.schedule.arguments.concurrency_limit >= 1, false))
      && (var.schedule.arguments.lease_seconds == null || try(var.schedule.arguments.lease_seconds >= 600, false))
    )
    error_message = "schedule: a 5-field cron, an IANA time zone, a run_id that is an identifier, episodes_shards and concurrency_limit >= 1, lease_seconds >= 600."
  }
}

variable "cleanup" {
  description = "Scheduled `bp-cleanup` (the SDK's console script, in every job image): removes uncommitted attempt folders idle for longer than `grace`; commit records, committed attempts and failure markers stay."
  type = object({
    enabled   = optional(bool, true)
    cron      = optional(string, "30 4 * * *")
    time_zone = optional(string, "Etc/UTC")
    grace     = optional(string, "48h")
    image     = optional(string, "bp-ingest")
  })
  default = {}
  validation {
    condition = (
      length(split(" ", trimspace(var.cleanup.cron))) == 5
      && can(regex("^[0-9]+[smhd]$", var.cleanup.grace))
      && can(regex("^bp-[a-z0-9-]+$", var.cleanup.image))
    )
    error_message = "cleanup: a 5-field cron, a grace like 48h (s, m, h or d), an image name bp-<job>."
  }
}

variable "secrets" {
  description = "Secret Manager secrets by id, with the stages whose service accounts may read them. Values are added with `gcloud secrets versions add`, never through Terraform."
  type = map(object({
    stages = list(string)
  }))
  default = {}
  validation {
    condition     = alltrue([for id, s in var.secrets : can(regex("^[A-Za-z][A-Za-z0-9_-]{0,254}$", id)) && alltrue([for st in s.stages : can(regex("^[a-z]+$", st))])])
    error_message = "secrets: ids are letters, digits, '_' and '-', starting with a letter; stages are stage names."
  }
}

variable "monitoring" {
  description = "Notification channels for every alert and the budget; alert thresholds; the monthly budget (null: no budget)."
  type = object({
    notification_channels       = optional(list(string), [])
    retryable_failures_per_hour = optional(number, 5)
    min_episode_success_rate    = optional(number, 0.5)
    budget = optional(object({
      billing_account = string
      amount          = number
      currency        = optional(string, "USD")
      thresholds      = optional(list(number), [0.5, 0.9, 1.0])
    }))
  })
  default = {}
  validation {
    condition     = alltrue([for c in var.monitoring.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "monitoring.notification_channels: full ids, projects/<project>/notificationChannels/<id>."
  }
}
