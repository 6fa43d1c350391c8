# The MuJoCo Warp kernel cache (docs/EPISODES_WARP.md, "Kernel cache"): a bucket of its own,
# mounted read-write through Cloud Storage FUSE into every stage job whose map entry has
# kernel_cache = true (episodes) at local.kernel_cache.path, which EPISODES_WARP_KERNEL_CACHE
# names. The first GPU task of a project compiles MuJoCo Warp's kernels into it (~4-6 min);
# every later task loads them in seconds. It is only a cache: objects expire after
# storage.kernel_cache_days (a miss costs one compile), no versions, no soft delete.
#
# Hierarchical namespace: Warp compiles each module into a folder of its own process and then
# renames the folder into place; Cloud Storage FUSE renames a non-empty folder only in a
# bucket with a hierarchical namespace (atomically; a flat bucket refuses), so the cache
# could not be filled without it.

locals {
  kernel_cache = {
    bucket = coalesce(var.storage.kernel_cache_bucket, "${var.project_id}-${var.name_prefix}-warp-cache")
    path   = "/var/cache/bp-warp" # outside the image's home and code; Cloud Run creates it
    volume = "warp-kernels"
  }
  kernel_cache_stages = [for k, s in local.stages : k if s.kernel_cache]

  # per stage: the mount (module cloud-run-job's gcs_volumes) and the setting that names it
  kernel_cache_volumes = { for k, s in local.stages : k => s.kernel_cache ? {
    (local.kernel_cache.volume) = { bucket = local.kernel_cache.bucket, mount_path = local.kernel_cache.path, read_only = false }
  } : {} }
  kernel_cache_env = { for k, s in local.stages : k => s.kernel_cache ? { EPISODES_WARP_KERNEL_CACHE = local.kernel_cache.path } : {} }

  # read, create, replace and delete objects and folders (Warp renames its build folders into
  # place and removes them), on this bucket only, for the identities of the jobs that mount it
  kernel_cache_grants = { for k in local.kernel_cache_stages : "${k}-kernel-cache" => {
    role   = "roles/storage.objectUser"
    member = module.job_sa[k].iam_email
  } }
}

module "kernel_cache_bucket" {
  source                 = "./modules/gcs-bucket"
  project_id             = var.project_id
  name                   = local.kernel_cache.bucket
  location               = local.location
  labels                 = merge(local.labels, { "bp-bucket" = "warp-cache" })
  force_destroy          = var.storage.force_destroy
  versioning             = false # a cache; and a hierarchical namespace excludes versioning
  hierarchical_namespace = true
  soft_delete_days       = 0 # nothing here is worth recovering: a miss recompiles
  access_log_bucket      = module.log_bucket.name
  lifecycle_rules = {
    # compiled kernels of Warp versions and scenes no longer run go; a live one that expires
    # is compiled again once
    expire = { action = { type = "Delete" }, condition = { age = var.storage.kernel_cache_days } }
  }
  iam_members = local.kernel_cache_grants
  depends_on  = [google_project_service.apis]
}
