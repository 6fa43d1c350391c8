output "storage_uri" {
  description = "STORAGE_URI of every job: pass it to `bp run --cloud --storage`."
  value       = local.storage_uri
}

output "data_bucket" {
  description = "Data bucket (scenes/, datasets/, deliveries/)."
  value       = module.data_bucket.name
}

output "delivery_bucket" {
  description = "Delivery bucket (retention policy; one managed folder per customer)."
  value       = module.delivery_bucket.name
}

output "kernel_cache_bucket" {
  description = "Warp kernel-cache bucket (mounted into the episodes job at EPISODES_WARP_KERNEL_CACHE); a warm cache from `bash bench/device_warp.sh pack-cache` can be copied into it."
  value       = module.kernel_cache_bucket.name
}

output "registry" {
  description = "Image path prefix for docker push."
  value       = module.registry.url
}

output "jobs" {
  description = "Cloud Run job name by stage."
  value       = { for k, j in module.stage_jobs : k => j.name }
}

output "workflows" {
  description = "Workflow resource ids."
  value       = { pipeline = module.pipeline_workflow.id, batch = module.batch_workflow.id }
}

output "batch_run_id" {
  description = "The run id the scheduled batch uses."
  value       = local.batch_run_id
}

output "service_accounts" {
  description = "Service account emails by role."
  value = merge(
    { for k, sa in module.job_sa : "job-${k}" => sa.email },
    {
      workflows       = module.workflows_sa.email
      scheduler       = module.scheduler_sa.email
      cleanup         = module.cleanup_sa.email
      delivery_signer = module.delivery_signer_sa.email
    },
  )
}
