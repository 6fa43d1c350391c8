output "ids" {
  description = "Secret resource ids by secret id."
  value       = { for k, s in google_secret_manager_secret.secrets : k => s.id }
}
