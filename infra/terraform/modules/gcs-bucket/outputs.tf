output "name" {
  description = "Bucket name."
  value       = google_storage_bucket.bucket.name
}

output "url" {
  description = "gs:// URL of the bucket."
  value       = google_storage_bucket.bucket.url
}

output "managed_folders" {
  description = "Managed folder names."
  value       = [for f in google_storage_managed_folder.folders : f.name]
}
