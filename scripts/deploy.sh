#!/usr/bin/env bash
# Deploy BlueprintPipeline into one GCP project (infra/terraform/README.md explains each step):
#
#   bash scripts/deploy.sh [--dry-run] [--yes] [--prefix NAME] [--skip-build] PROJECT REGION
#
#   1. checks prerequisites: gcloud (authenticated), terraform >= 1.5, docker, the repo's tools
#   2. enables the APIs, creates the Terraform state bucket gs://<PROJECT>-tfstate if missing
#   3. terraform init (GCS backend) and a first targeted apply: the APIs and Artifact Registry
#   4. builds every job image with scripts/build_images.sh, tags and pushes each to
#      <REGION>-docker.pkg.dev/<PROJECT>/<prefix>-images/bp-<job>:<revision>-<UTC stamp>
#   5. writes their digests into infra/terraform/images.auto.tfvars.json (jobs run images
#      by digest, never by tag)
#   6. terraform apply (asks for approval unless --yes), then prints how to trigger a run
#
# --dry-run prints every command it would run, in order, and runs none of them (nothing is
# built, pushed, written or applied; tests/infra/test_deploy.py checks that with a fake PATH).
# --skip-build pushes the images already built locally (bp-<job>:local).
# Variables other than project, region and prefix come from infra/terraform/terraform.tfvars
# (copy terraform.tfvars.example).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
TF_DIR="infra/terraform"

DRY_RUN=0
AUTO_APPROVE=0
SKIP_BUILD=0
PREFIX="bp"
ARGS=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --yes) AUTO_APPROVE=1 ;;
    --skip-build) SKIP_BUILD=1 ;;
    --prefix)
      [ "$#" -ge 2 ] || { echo "deploy: --prefix needs a value" >&2; exit 2; }
      PREFIX="$2"
      shift
      ;;
    -h | --help)
      sed -n '2,20p' "$0"
      exit 0
      ;;
    -*) echo "deploy: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done
if [ "${#ARGS[@]}" -ne 2 ]; then
  echo "usage: bash scripts/deploy.sh [--dry-run] [--yes] [--prefix NAME] [--skip-build] PROJECT REGION" >&2
  exit 2
fi
PROJECT="${ARGS[0]}"
REGION="${ARGS[1]}"
[[ "$PROJECT" =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] || { echo "deploy: '$PROJECT' is not a GCP project id" >&2; exit 2; }
[[ "$REGION" =~ ^[a-z]+-[a-z]+[0-9]+$ ]] || { echo "deploy: '$REGION' is not a region (e.g. europe-west4)" >&2; exit 2; }
[[ "$PREFIX" =~ ^[a-z][a-z0-9-]{1,13}$ ]] || { echo "deploy: --prefix must be 2-14 lowercase letters, digits and '-'" >&2; exit 2; }

REGISTRY_HOST="${REGION}-docker.pkg.dev"
REGISTRY="${REGISTRY_HOST}/${PROJECT}/${PREFIX}-images"
STATE_BUCKET="${PROJECT}-tfstate"
DIGESTS_FILE="${TF_DIR:?}/images.auto.tfvars.json"
TF_VARS=(-var "project_id=${PROJECT}" -var "region=${REGION}" -var "name_prefix=${PREFIX}")
APIS=(
  artifactregistry.googleapis.com billingbudgets.googleapis.com cloudresourcemanager.googleapis.com
  cloudscheduler.googleapis.com iam.googleapis.com logging.googleapis.com monitoring.googleapis.com
  run.googleapis.com secretmanager.googleapis.com serviceusage.googleapis.com storage.googleapis.com
  workflowexecutions.googleapis.com workflows.googleapis.com
)

say() { echo "deploy: $*" >&2; }
die() { say "$*"; exit 1; }

# print a command (shell-quoted), and run it unless --dry-run
run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [ "$DRY_RUN" = 0 ]; then
    "$@"
  fi
}

# print a prerequisite check, and run it (output hidden) unless --dry-run; stop if it fails
check() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [ "$DRY_RUN" = 0 ] && ! "$@" >/dev/null; then
    die "prerequisite failed: $* (gcloud auth login / a running Docker engine?)"
  fi
}

# ------------------------------------------------------------------ 1. prerequisites
say "1/6 prerequisites"
missing=()
for tool in gcloud terraform docker git; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$DRY_RUN" = 1 ]; then
    say "(dry run) not installed here: ${missing[*]}"
  else
    die "install first: ${missing[*]} (see infra/terraform/README.md)"
  fi
fi
check gcloud auth print-access-token --quiet --verbosity=error
check terraform version
check docker info --format '{{.ServerVersion}}'
[ -f "${TF_DIR:?}/terraform.tfvars" ] || say "no ${TF_DIR}/terraform.tfvars: using defaults (copy terraform.tfvars.example to set customers, alerts, the budget...)"

# ------------------------------------------------------------------ 2. APIs and state bucket
say "2/6 APIs and the Terraform state bucket gs://${STATE_BUCKET}"
run gcloud services enable "${APIS[@]}" --project "${PROJECT}"
if [ "$DRY_RUN" = 1 ] || ! gcloud storage buckets describe "gs://${STATE_BUCKET}" --project "${PROJECT}" >/dev/null 2>&1; then
  [ "$DRY_RUN" = 0 ] || echo "# if gs://${STATE_BUCKET} does not exist yet:"
  run gcloud storage buckets create "gs://${STATE_BUCKET}" --project "${PROJECT}" --location "${REGION}" \
    --uniform-bucket-level-access --public-access-prevention
  run gcloud storage buckets update "gs://${STATE_BUCKET}" --versioning
fi

# ------------------------------------------------------------------ 3. init, registry first
say "3/6 terraform init and the registry (targeted apply)"
run terraform -chdir="${TF_DIR:?}" init -input=false -reconfigure \
  -backend-config="bucket=${STATE_BUCKET}" -backend-config="prefix=blueprintpipeline/${PREFIX}"
run terraform -chdir="${TF_DIR:?}" apply -input=false -auto-approve "${TF_VARS[@]}" \
  -target=google_project_service.apis -target=module.registry

# ------------------------------------------------------------------ 4. build and push
say "4/6 images: build, tag, push to ${REGISTRY}"
mapfile -t IMAGES < <(bash scripts/build_images.sh --list)
[ "${#IMAGES[@]}" -gt 0 ] || die "scripts/build_images.sh --list named no image"
REVISION="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain 2>/dev/null | head -n 1)" ]; then
  REVISION="${REVISION}-dirty"
fi
TAG="${REVISION}-$(date -u +%Y%m%d%H%M%S)"
if [ "$SKIP_BUILD" = 0 ]; then
  run bash scripts/build_images.sh "${IMAGES[@]}"
fi
run gcloud auth configure-docker "${REGISTRY_HOST}" --quiet
declare -A DIGESTS=()
for image in "${IMAGES[@]}"; do
  ref="${REGISTRY}/bp-${image}:${TAG}"
  run docker tag "bp-${image}:local" "${ref}"
  run docker push --quiet "${ref}"
  if [ "$DRY_RUN" = 1 ]; then
    echo "+ docker image inspect --format '{{index .RepoDigests 0}}' ${ref}   # -> the digest"
    DIGESTS["bp-${image}"]="sha256:<digest of ${ref}>"
  else
    repo_digest="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "${ref}" | grep -F "${REGISTRY}/bp-${image}@" | head -n 1)"
    digest="${repo_digest##*@}"
    [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "no registry digest for ${ref} after the push"
    DIGESTS["bp-${image}"]="$digest"
  fi
done

# ------------------------------------------------------------------ 5. digests into the variables
say "5/6 image digests -> ${DIGESTS_FILE}"
json="{\"image_digests\": {"
sep=""
for name in $(printf '%s\n' "${!DIGESTS[@]}" | sort); do
  json+="${sep}\"${name}\": \"${DIGESTS[$name]}\""
  sep=", "
done
json+="}}"
if [ "$DRY_RUN" = 1 ]; then
  echo "+ write ${DIGESTS_FILE}: ${json}"
else
  # keep the previous digests: restoring them and applying is the rollback
  [ ! -f "${ROOT:?}/${DIGESTS_FILE:?}" ] || cp -f "${ROOT:?}/${DIGESTS_FILE:?}" "${ROOT:?}/${DIGESTS_FILE:?}.previous"
  tmp="$(mktemp "${ROOT:?}/${TF_DIR:?}/.images.XXXXXX")"
  printf '%s\n' "$json" >"${tmp:?}"
  mv -f "${tmp:?}" "${ROOT:?}/${DIGESTS_FILE:?}"
fi

# ------------------------------------------------------------------ 6. apply
say "6/6 terraform apply"
APPLY=(terraform -chdir="${TF_DIR:?}" apply -input=false "${TF_VARS[@]}")
[ "$AUTO_APPROVE" = 0 ] || APPLY+=(-auto-approve)
run "${APPLY[@]}"

if [ "$DRY_RUN" = 1 ]; then
  STORAGE_URI="gs://${PROJECT}-${PREFIX}-data"
  echo "+ terraform -chdir=${TF_DIR} output -raw storage_uri   # -> ${STORAGE_URI} unless terraform.tfvars names other buckets"
else
  STORAGE_URI="$(terraform -chdir="${TF_DIR:?}" output -raw storage_uri)"
fi

cat <<EOF

Deployed to ${PROJECT} (${REGION}). Trigger a run:

  # one scene from this machine, through the deployed pipeline workflow
  uv run bp run examples/scenes/kitchen_counter --cloud --project ${PROJECT} --region ${REGION} \\
      --storage ${STORAGE_URI} --set DELIVER_CUSTOMER_ID=internal

  # every ready scene now, as Cloud Scheduler will do on its schedule
  gcloud scheduler jobs run ${PREFIX}-batch --location ${REGION} --project ${PROJECT}

  # or one scene already in storage, with gcloud only
  gcloud workflows run pipeline --location ${REGION} --project ${PROJECT} \\
      --data '{"scene_id": "kitchen_counter", "run_id": "manual-1"}'

Roll back: cp ${DIGESTS_FILE}.previous ${DIGESTS_FILE} && terraform -chdir=${TF_DIR} apply
(infra/terraform/README.md, "Roll back").
EOF
