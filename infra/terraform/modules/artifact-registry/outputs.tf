output "id" {
  description = "Repository resource id."
  value       = google_artifact_registry_repository.repo.id
}

output "url" {
  description = "Image path prefix: <location>-docker.pkg.dev/<project>/<repository>."
  value       = "${var.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.repo.repository_id}"
}
