variable "project_id" {
  description = "Project that owns the repository."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id."
  }
}

variable "location" {
  description = "Region of the repository (images are pulled from <location>-docker.pkg.dev)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.location))
    error_message = "location must be a region such as europe-west4."
  }
}

variable "name" {
  description = "Repository id."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.name))
    error_message = "name must be lowercase letters, digits and '-', starting with a letter."
  }
}

variable "labels" {
  description = "Resource labels."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "labels: lowercase letters, digits, '_' and '-'."
  }
}

variable "cleanup" {
  description = "Cleanup policy: keep the newest `keep_recent` versions of every image; delete untagged versions after `untagged_days` and any other version after `max_age_days` (the kept ones excepted)."
  type = object({
    keep_recent   = optional(number, 10)
    untagged_days = optional(number, 7)
    max_age_days  = optional(number, 180)
    dry_run       = optional(bool, false)
  })
  default = {}
  validation {
    condition     = var.cleanup.keep_recent >= 1 && var.cleanup.untagged_days >= 1 && var.cleanup.max_age_days >= var.cleanup.untagged_days
    error_message = "cleanup: keep_recent >= 1, untagged_days >= 1, max_age_days >= untagged_days."
  }
}

variable "iam" {
  description = "Repository IAM: role => members (e.g. readers for another project's runtime)."
  type        = map(list(string))
  default     = {}
  validation {
    condition     = alltrue([for role in keys(var.iam) : can(regex("^roles/artifactregistry\\.", role))])
    error_message = "iam: only roles/artifactregistry.* roles are granted on the repository."
  }
}
