output "name" {
  description = "Workflow name."
  value       = google_workflows_workflow.workflow.name
}

output "id" {
  description = "Workflow resource id: projects/<p>/locations/<r>/workflows/<name>."
  value       = google_workflows_workflow.workflow.id
}
