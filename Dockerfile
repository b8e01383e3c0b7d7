# The image VSO's runs execute in when Dagster starts them in a container (DockerRunLauncher) or a
# Kubernetes job (K8sRunLauncher): VSO with every extra, git, tmux, Terraform, and the agent CLIs
# at the versions the Makefile pins. docs/scaling.md says how the launchers use it.
#
#   docker build -t vso:latest .
#
# A run needs the project (its git checkout) and the Dagster instance (PostgreSQL): the launchers'
# configurations in docs/scaling.md mount the one and name the other's password variable.
# BASE: any Debian bookworm image with Python 3.11 as `python` and pip allowed to install into it.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git make nodejs npm tmux \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/vso
COPY .ci/install_terraform.py .ci/install_terraform.py
# TERRAFORM_MIRROR: where the release archives are, if not HashiCorp's own site (a mirror inside
# a network that reaches no further).
ARG TERRAFORM_MIRROR=https://releases.hashicorp.com/terraform
RUN TERRAFORM_MIRROR="${TERRAFORM_MIRROR}" python .ci/install_terraform.py 1.11.4

# The agent CLIs first: they change less often than VSO's code, so their layer is reused.
COPY Makefile ./
RUN make agents AGENTS=/opt/vso/agents PYTHON=python
ENV PATH="/opt/vso/agents/bin:${PATH}"

COPY pyproject.toml README.md ./
COPY vso_dagster vso_dagster
COPY templates templates
RUN pip install --no-cache-dir ".[all]"

# A run works in the project's checkout as the user who owns it would; git must accept it.
RUN git config --system safe.directory '*'
WORKDIR /project
