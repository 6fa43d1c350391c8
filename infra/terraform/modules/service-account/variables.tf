variable "project_id" {
  description = "Project that owns the service account."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id."
  }
}

variable "name" {
  description = "Account id (the part before @)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.name))
    error_message = "name must be 6-30 lowercase letters, digits and '-'."
  }
}

variable "description" {
  description = "What the identity is for (shown in the console)."
  type        = string
  default     = null
  validation {
    condition     = var.description == null || try(length(var.description) <= 256, false)
    error_message = "description must be at most 256 characters."
  }
}

variable "iam_project_roles" {
  description = "Roles granted to this account on the project. Keep this list short: resource-level grants live on the resources (buckets, jobs, secrets). tests/infra checks every entry against an allowlist."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for r in var.iam_project_roles : can(regex("^roles/[a-zA-Z.]+$", r)) && !contains(["roles/owner", "roles/editor", "roles/viewer"], r)])
    error_message = "iam_project_roles: predefined roles only, never the basic owner/editor/viewer roles."
  }
}

variable "iam" {
  description = "IAM on the service account itself: role => members (e.g. who may mint tokens for it)."
  type        = map(list(string))
  default     = {}
  validation {
    condition     = alltrue([for role in keys(var.iam) : contains(["roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountUser"], role)])
    error_message = "iam: only roles/iam.serviceAccountTokenCreator and roles/iam.serviceAccountUser are granted on a service account."
  }
}
