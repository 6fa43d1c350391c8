variable "project_id" {
  description = "Project that owns the bucket."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id."
  }
}

variable "name" {
  description = "Globally unique bucket name."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$", var.name)) && !can(regex("^goog", var.name))
    error_message = "name must be a valid bucket name (3-63 lowercase letters, digits, '-', '_', '.'; not starting with 'goog')."
  }
}

variable "location" {
  description = "Bucket location (a region, or a multi-region such as EU)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9-]+$", var.location))
    error_message = "location must be a region or multi-region name."
  }
}

variable "labels" {
  description = "Resource labels."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "labels: keys start with a lowercase letter; keys and values use lowercase letters, digits, '_' and '-'."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects. Keep false for data."
  type        = bool
  default     = false
  validation {
    condition     = var.force_destroy != null
    error_message = "force_destroy must be true or false."
  }
}

variable "versioning" {
  description = "Object versioning (mutually exclusive with a retention policy in Cloud Storage)."
  type        = bool
  default     = true
  validation {
    condition     = var.versioning != null
    error_message = "versioning must be true or false."
  }
}

variable "hierarchical_namespace" {
  description = "Hierarchical namespace: folders are resources and renaming one is atomic (what Cloud Storage FUSE needs to rename a non-empty directory). Set at creation only; excludes versioning."
  type        = bool
  default     = false
  validation {
    condition     = var.hierarchical_namespace != null
    error_message = "hierarchical_namespace must be true or false."
  }
}

variable "lifecycle_rules" {
  description = "Lifecycle rules by name (the name is documentation only)."
  type = map(object({
    action = object({
      type          = string
      storage_class = optional(string)
    })
    condition = object({
      age                        = optional(number)
      days_since_noncurrent_time = optional(number)
      num_newer_versions         = optional(number)
      with_state                 = optional(string)
      matches_prefix             = optional(list(string))
      matches_suffix             = optional(list(string))
    })
  }))
  default = {}
  validation {
    condition = alltrue([
      for r in values(var.lifecycle_rules) :
      contains(["Delete", "SetStorageClass", "AbortIncompleteMultipartUpload"], r.action.type)
      && contains(["LIVE", "ARCHIVED", "ANY"], coalesce(r.condition.with_state, "ANY"))
    ])
    error_message = "lifecycle_rules: action.type is Delete, SetStorageClass or AbortIncompleteMultipartUpload; with_state is LIVE, ARCHIVED or ANY."
  }
}

variable "retention_policy" {
  description = "Minimum age (days) before an object may be deleted or replaced; null for none. Locking is irreversible."
  type = object({
    days      = number
    is_locked = optional(bool, false)
  })
  default = null
  validation {
    condition     = var.retention_policy == null || try(var.retention_policy.days >= 1 && var.retention_policy.days <= 3650, false)
    error_message = "retention_policy.days must be between 1 and 3650."
  }
}

variable "access_log_bucket" {
  description = "Bucket that receives this bucket's usage and storage logs; null for none (only for the log bucket itself)."
  type        = string
  default     = null
  validation {
    condition     = var.access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$", var.access_log_bucket))
    error_message = "access_log_bucket must be a bucket name."
  }
}

variable "soft_delete_days" {
  description = "Days a deleted object stays recoverable (soft delete); 0 turns soft delete off."
  type        = number
  default     = 7
  validation {
    condition     = var.soft_delete_days == 0 || (var.soft_delete_days >= 7 && var.soft_delete_days <= 90)
    error_message = "soft_delete_days must be 0 or between 7 and 90."
  }
}

variable "iam_members" {
  description = "Additive bucket IAM grants by key: one role for one member, optionally with an IAM condition (e.g. an object-name prefix)."
  type = map(object({
    role   = string
    member = string
    condition = optional(object({
      title       = string
      expression  = string
      description = optional(string)
    }))
  }))
  default = {}
  validation {
    condition     = alltrue([for g in values(var.iam_members) : can(regex("^(roles|projects/[^/]+/roles)/", g.role)) && can(regex("^(user|group|serviceAccount|domain|principal|principalSet):", g.member))])
    error_message = "iam_members: role is roles/... or a custom role; member is user:, group:, serviceAccount:, domain:, principal: or principalSet:."
  }
}

variable "managed_folders" {
  description = "Managed folders (name ending in '/') with their own IAM: role => members. Uniform access is on, so this is the only per-prefix grant that also scopes listing."
  type        = map(map(list(string)))
  default     = {}
  validation {
    condition     = alltrue([for name, roles in var.managed_folders : can(regex("^([A-Za-z0-9._-]+/)+$", name)) && alltrue([for role in keys(roles) : can(regex("^roles/storage\\.", role))])])
    error_message = "managed_folders: names are path segments ending in '/'; roles are roles/storage.*."
  }
}
