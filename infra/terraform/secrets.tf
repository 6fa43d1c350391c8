# Secret Manager secrets (no versions: values never enter Terraform code or state), each
# readable by the service accounts of the stages listed for it. No stage reads a secret yet;
# bp_sdk.secrets reads projects/<GOOGLE_CLOUD_PROJECT>/secrets/<id>/versions/latest.

module "secrets" {
  source     = "./modules/secret"
  project_id = var.project_id
  secrets = {
    for id, s in var.secrets : id => {
      accessors = [for stage in s.stages : module.job_sa[stage].iam_email]
      labels    = local.labels
    }
  }
  depends_on = [google_project_service.apis]
}
