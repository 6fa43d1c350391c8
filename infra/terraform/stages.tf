# THE stage map: one entry per job in jobs/ = one Cloud Run job <name_prefix>-<stage>, its
# own service account and its object access. Adding a stage is one entry here (and its image
# digest in var.image_digests). tests/infra checks that this map, jobs/, the workflows and
# jobs/report's resources.json (vCPU, GiB, GPUs the cost estimate assumes) agree.
#
#   image        image name in Artifact Registry (referenced by digest from var.image_digests)
#   cpu, memory_gib, gpu, gpu_type   what every task gets
#   timeout_s    task timeout (Cloud Run GPU tasks: at most 1 h)
#   max_retries  Cloud Run task retries; the workflow retries a failed execution twice more
#                (README: at most 3 x (1 + max_retries) = 6 attempts per task)
#   task_count, parallelism   defaults; the workflow sets taskCount of episodes per run
#   reads, writes  object prefixes under the storage root the job may read / create
#   delivery     may write the delivery bucket
#   kernel_cache mounts the Warp kernel-cache bucket read-write and points
#                EPISODES_WARP_KERNEL_CACHE at it; its identity alone may use that bucket
#                (kernel_cache.tf)
#   env          stage settings Terraform sets (the workflow passes SCENE_ID, RUN_ID,
#                DATASET_ID, REPORT_ID and its `settings` map as overrides)
locals {
  stages = {
    ingest = {
      image     = "bp-ingest", cpu = 2, memory_gib = 4, gpu = 0, gpu_type = null
      timeout_s = 3600, max_retries = 1, task_count = 1, parallelism = 1
      reads     = ["scenes/"], writes = ["scenes/"], delivery = false, kernel_cache = false
      env       = {}
    }
    simready = {
      image     = "bp-simready", cpu = 2, memory_gib = 4, gpu = 0, gpu_type = null
      timeout_s = 7200, max_retries = 1, task_count = 1, parallelism = 1
      reads     = ["scenes/"], writes = ["scenes/"], delivery = false, kernel_cache = false
      env       = {}
    }
    assemble = {
      image     = "bp-assemble", cpu = 2, memory_gib = 4, gpu = 0, gpu_type = null
      timeout_s = 3600, max_retries = 1, task_count = 1, parallelism = 1
      reads     = ["scenes/"], writes = ["scenes/"], delivery = false, kernel_cache = false
      env       = {}
    }
    variations = {
      image     = "bp-variations", cpu = 2, memory_gib = 4, gpu = 0, gpu_type = null
      timeout_s = 3600, max_retries = 1, task_count = 1, parallelism = 1
      reads     = ["scenes/"], writes = ["scenes/"], delivery = false, kernel_cache = false
      env       = {}
    }
    tasks = {
      image     = "bp-tasks", cpu = 2, memory_gib = 4, gpu = 0, gpu_type = null
      timeout_s = 1800, max_retries = 1, task_count = 1, parallelism = 1
      reads     = ["scenes/"], writes = ["scenes/"], delivery = false, kernel_cache = false
      env       = {}
    }
    # Cloud Run job with one NVIDIA L4 per task (README: why not a GKE node pool)
    episodes = {
      image     = "bp-episodes-gpu", cpu = 8, memory_gib = 32, gpu = 1, gpu_type = "nvidia-l4"
      timeout_s = 3600, max_retries = 1, task_count = 2, parallelism = var.episodes_parallelism
      reads     = ["scenes/"], writes = ["scenes/"], delivery = false, kernel_cache = true
      env       = {}
    }
    export = {
      image     = "bp-export", cpu = 4, memory_gib = 8, gpu = 0, gpu_type = null
      timeout_s = 14400, max_retries = 1, task_count = 1, parallelism = 1
      reads     = ["scenes/", "datasets/", "specs/"], writes = ["datasets/"], delivery = false, kernel_cache = false
      env       = {}
    }
    gate = {
      image     = "bp-gate", cpu = 2, memory_gib = 4, gpu = 0, gpu_type = null
      timeout_s = 3600, max_retries = 1, task_count = 1, parallelism = 1
      reads     = ["datasets/", "configs/"], writes = ["datasets/"], delivery = false, kernel_cache = false
      env       = {}
    }
    deliver = {
      image     = "bp-deliver", cpu = 2, memory_gib = 4, gpu = 0, gpu_type = null
      timeout_s = 7200, max_retries = 1, task_count = 1, parallelism = 1
      reads     = ["datasets/", "deliveries/"], writes = ["deliveries/"], delivery = true, kernel_cache = false
      # production requires a customer: this default, or the workflow's
      # settings {"DELIVER_CUSTOMER_ID": "..."} for one run or batch
      env = {
        DELIVER_CUSTOMER_ID = var.delivery.default_customer
        DELIVER_APPROVERS   = join(",", var.delivery.approvers)
        # every customer's deliveries: gs://<delivery bucket>/<customer>/<dataset>/
        DELIVER_ROOT = "gs://${local.delivery_bucket}"
      }
    }
    report = {
      image     = "bp-report", cpu = 2, memory_gib = 4, gpu = 0, gpu_type = null
      timeout_s = 1800, max_retries = 1, task_count = 1, parallelism = 1
      reads     = ["scenes/", "datasets/"], writes = ["scenes/", "datasets/"], delivery = false, kernel_cache = false
      env       = {}
    }
  }
}
