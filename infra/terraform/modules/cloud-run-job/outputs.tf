output "name" {
  description = "Job name."
  value       = google_cloud_run_v2_job.job.name
}

output "id" {
  description = "Job resource id: projects/<p>/locations/<r>/jobs/<name>."
  value       = google_cloud_run_v2_job.job.id
}
