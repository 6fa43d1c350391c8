# Pinned to the major whose schema tests/infra checks offline (hashicorp/google 6.50.0, from
# the cdktf-cdktf-provider-google 16.12.1 bindings in infra/tools/uv.lock).
terraform {
  required_version = ">= 1.5.0"
  # state in a versioned GCS bucket; scripts/deploy.sh creates gs://<project>-tfstate and
  # runs `terraform init -backend-config=bucket=... -backend-config=prefix=...`
  backend "gcs" {}

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.50.0, < 7.0.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
  # the Billing Budgets API needs a quota project when Terraform runs with user credentials
  user_project_override = true
  billing_project       = var.project_id
}
