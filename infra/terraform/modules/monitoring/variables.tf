variable "project_id" {
  description = "Project whose logs are measured."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id."
  }
}

variable "project_number" {
  description = "Project number (the budget filters on projects/<number>)."
  type        = string
  validation {
    condition     = can(regex("^[0-9]+$", var.project_number))
    error_message = "project_number must be digits."
  }
}

variable "name_prefix" {
  description = "Prefix of the Cloud Run jobs (<prefix>-<stage>) and of the metric names."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,13}$", var.name_prefix))
    error_message = "name_prefix must be 2-14 lowercase letters, digits and '-'."
  }
}

variable "notification_channels" {
  description = "Notification channel ids (projects/<p>/notificationChannels/<id>) that every alert and the budget notify."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "notification_channels: full ids, projects/<project>/notificationChannels/<id>."
  }
}

variable "thresholds" {
  description = "Alert thresholds: retryable stage failures per hour; lowest episode success rate over an hour (the episodes stage's own guard is EPISODES_MIN_SUCCESS_RATE)."
  type = object({
    retryable_failures_per_hour = optional(number, 5)
    min_episode_success_rate    = optional(number, 0.5)
  })
  default = {}
  validation {
    condition     = var.thresholds.retryable_failures_per_hour >= 0 && var.thresholds.min_episode_success_rate >= 0 && var.thresholds.min_episode_success_rate <= 1
    error_message = "thresholds: retryable_failures_per_hour >= 0; min_episode_success_rate in [0, 1]."
  }
}

variable "budget" {
  description = "Monthly budget alert on the project's spend; null for none (creating one needs billing.budgets.create on the billing account)."
  type = object({
    billing_account = string
    amount          = number
    currency        = optional(string, "USD")
    thresholds      = optional(list(number), [0.5, 0.9, 1.0])
  })
  default = null
  validation {
    condition = var.budget == null || try(
      can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.budget.billing_account))
      && var.budget.amount > 0
      && alltrue([for t in var.budget.thresholds : t > 0 && t <= 2]), false
    )
    error_message = "budget: billing_account like 012345-6789AB-CDEF01, amount > 0, thresholds in (0, 2]."
  }
}
