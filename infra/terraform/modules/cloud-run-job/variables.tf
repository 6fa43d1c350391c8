variable "project_id" {
  description = "Project of the job."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id."
  }
}

variable "region" {
  description = "Region of the job."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a region such as europe-west4."
  }
}

variable "name" {
  description = "Job name (the workflows call <job_prefix>-<stage>)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,48}[a-z0-9]$", var.name))
    error_message = "name must be lowercase letters, digits and '-' (at most 50)."
  }
}

variable "image" {
  description = "Container image BY DIGEST: <host>/<path>@sha256:<64 hex>. A tag would let the job change under a running pipeline."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image must be referenced by digest (...@sha256:<64 hex>), never by tag."
  }
}

variable "service_account_email" {
  description = "Identity the job runs as."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9-]+@[a-z0-9-]+\\.iam\\.gserviceaccount\\.com$", var.service_account_email))
    error_message = "service_account_email must be a service account email."
  }
}

variable "command" {
  description = "Entrypoint override (null: the image's, bp-<stage>)."
  type        = list(string)
  default     = null
  validation {
    condition     = var.command == null || try(length(var.command) > 0 && alltrue([for c in var.command : length(c) > 0]), false)
    error_message = "command must be null or a non-empty list of non-empty strings."
  }
}

variable "args" {
  description = "Arguments to the entrypoint."
  type        = list(string)
  default     = []
  validation {
    condition     = var.args != null && length(var.args) <= 100
    error_message = "args must be a list of at most 100 strings."
  }
}

variable "env" {
  description = "Environment variables of the container (settings; never secret values)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.env) : can(regex("^[A-Z][A-Z0-9_]*$", k)) && !startswith(k, "CLOUD_RUN_")])
    error_message = "env: names are UPPER_SNAKE_CASE; CLOUD_RUN_* is set by Cloud Run."
  }
}

variable "resources" {
  description = "What each task gets: vCPU, memory (GiB), GPUs and their type. Cloud Run GPUs need >= 4 vCPU and >= 16 GiB."
  type = object({
    cpu        = number
    memory_gib = number
    gpu        = optional(number, 0)
    gpu_type   = optional(string)
  })
  validation {
    condition = (
      contains([1, 2, 4, 6, 8], var.resources.cpu)
      && floor(var.resources.memory_gib) == var.resources.memory_gib && var.resources.memory_gib >= 1 && var.resources.memory_gib <= 32
      && contains([0, 1], var.resources.gpu)
      && (var.resources.gpu == 0 || (var.resources.gpu_type != null && var.resources.cpu >= 4 && var.resources.memory_gib >= 16))
    )
    error_message = "resources: cpu in {1,2,4,6,8}, memory a whole 1-32 GiB, gpu 0 or 1 (with gpu_type, >= 4 vCPU and >= 16 GiB)."
  }
}

variable "execution" {
  description = "Task timeout (s), Cloud Run task retries, default task count and parallelism (0: as many as quota allows)."
  type = object({
    timeout_s   = number
    max_retries = number
    task_count  = optional(number, 1)
    parallelism = optional(number, 1)
  })
  validation {
    condition = (
      var.execution.timeout_s >= 60 && var.execution.timeout_s <= 604800
      && var.execution.max_retries >= 0 && var.execution.max_retries <= 10
      && var.execution.task_count >= 1 && var.execution.parallelism >= 0
    )
    error_message = "execution: timeout 60 s - 168 h, max_retries 0-10, task_count >= 1, parallelism >= 0."
  }
}

variable "gcs_volumes" {
  description = "Cloud Storage buckets mounted into the container (Cloud Storage FUSE, gen2 execution environment), by volume name: the bucket, the absolute path it appears at, and whether it is read-only (the job's identity needs object access on the bucket: roles/storage.objectViewer, or roles/storage.objectUser to write)."
  type = map(object({
    bucket     = string
    mount_path = string
    read_only  = optional(bool, true)
  }))
  default = {}
  validation {
    condition = (
      alltrue([
        for name, v in var.gcs_volumes :
        can(regex("^[a-z][a-z0-9-]{0,62}$", name))
        && can(regex("^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$", v.bucket))
        && can(regex("^(/[A-Za-z0-9._-]+)+$", v.mount_path))
        && !can(regex("^/(dev|proc|sys)(/|$)", v.mount_path))
      ])
      && length(distinct([for v in values(var.gcs_volumes) : v.mount_path])) == length(var.gcs_volumes)
    )
    error_message = "gcs_volumes: names are lowercase letters, digits and '-'; buckets are bucket names; mount paths are distinct absolute paths outside /dev, /proc and /sys."
  }
}

variable "labels" {
  description = "Resource labels (billing export attributes cost by these)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "labels: lowercase letters, digits, '_' and '-'."
  }
}

variable "launch_stage" {
  description = "API launch stage the job needs (BETA for features still in preview); null for GA."
  type        = string
  default     = null
  validation {
    condition     = var.launch_stage == null || contains(["GA", "BETA", "ALPHA"], coalesce(var.launch_stage, "GA"))
    error_message = "launch_stage must be GA, BETA or ALPHA."
  }
}

variable "deletion_protection" {
  description = "Refuse `terraform destroy` of the job. Jobs are stateless (recreated from this code), so off by default."
  type        = bool
  default     = false
  validation {
    condition     = var.deletion_protection != null
    error_message = "deletion_protection must be true or false."
  }
}

variable "iam" {
  description = "IAM on the job: role => members (e.g. the Workflows identity as roles/run.developer, to run it with overrides)."
  type        = map(list(string))
  default     = {}
  validation {
    condition     = alltrue([for role in keys(var.iam) : contains(["roles/run.developer", "roles/run.invoker", "roles/run.viewer"], role)])
    error_message = "iam: roles/run.developer, roles/run.invoker or roles/run.viewer on the job."
  }
}
