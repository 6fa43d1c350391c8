variable "project_id" {
  description = "Project of the workflow."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id."
  }
}

variable "region" {
  description = "Region of the workflow (the same as the jobs it runs)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a region such as europe-west4."
  }
}

variable "name" {
  description = "Workflow name."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_-]{0,63}$", var.name))
    error_message = "name must start with a letter and use letters, digits, '_' and '-' (at most 64)."
  }
}

variable "description" {
  description = "What the workflow does."
  type        = string
  default     = null
  validation {
    condition     = var.description == null || try(length(var.description) <= 256, false)
    error_message = "description must be at most 256 characters."
  }
}

variable "source_contents" {
  description = "The workflow definition (YAML), read by the caller with file() from workflows/."
  type        = string
  validation {
    condition     = length(var.source_contents) > 0 && length(var.source_contents) <= 131072
    error_message = "source_contents must be 1 byte to 128 KiB."
  }
}

variable "service_account_email" {
  description = "Identity the workflow's calls run as."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9-]+@[a-z0-9-]+\\.iam\\.gserviceaccount\\.com$", var.service_account_email))
    error_message = "service_account_email must be a service account email."
  }
}

variable "env" {
  description = "User environment variables (sys.get_env in the YAML)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.env) : can(regex("^[A-Z][A-Z0-9_]*$", k)) && !startswith(k, "GOOGLE_") && !startswith(k, "WORKFLOWS_")])
    error_message = "env: UPPER_SNAKE_CASE names, none starting with GOOGLE_ or WORKFLOWS_ (reserved)."
  }
}

variable "call_log_level" {
  description = "Call logging of every execution (needs roles/logging.logWriter for the service account)."
  type        = string
  default     = "LOG_ERRORS_ONLY"
  validation {
    condition     = contains(["LOG_ALL_CALLS", "LOG_ERRORS_ONLY", "LOG_NONE"], var.call_log_level)
    error_message = "call_log_level must be LOG_ALL_CALLS, LOG_ERRORS_ONLY or LOG_NONE."
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
