# The email is built from the inputs, so it is known at plan time (other modules key their
# for_each grants by it); depends_on still orders every grant after the account exists.

locals {
  email = "${var.name}@${var.project_id}.iam.gserviceaccount.com"
}

output "email" {
  description = "Service account email (known at plan time)."
  value       = local.email
  depends_on  = [google_service_account.sa]
}

output "iam_email" {
  description = "IAM member string: serviceAccount:<email> (known at plan time)."
  value       = "serviceAccount:${local.email}"
  depends_on  = [google_service_account.sa]
}

output "id" {
  description = "Service account resource id."
  value       = google_service_account.sa.id
}
