variable "project_id" {
  description = "Project of the secrets."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id."
  }
}

variable "secrets" {
  description = "Secrets by id, each with the members that may read it. Terraform creates the secret only; values are added out of band (gcloud secrets versions add), so no value is ever in Terraform code or state."
  type = map(object({
    accessors = list(string)
    labels    = optional(map(string), {})
  }))
  default = {}
  validation {
    condition     = alltrue([for id in keys(var.secrets) : can(regex("^[A-Za-z][A-Za-z0-9_-]{0,254}$", id))])
    error_message = "secret ids: letters, digits, '_' and '-', starting with a letter (what bp_sdk.secrets accepts)."
  }
}
