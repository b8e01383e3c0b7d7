# The image VSO's runs execute in when Dagster starts them in a container (DockerRunLauncher) or a
# Kubernetes job (K8sRunLauncher): VSO with every extra, git, tmux, Terraform, and the agent CLIs
# at the versions the Makefile pins. docs/scaling.md says how the launchers use it.
#
#   docker build -t vso:latest .
#
# A run needs the project (its git checkout) and the Dagster instance (PostgreSQL): the launchers'
# configurations in docs/scaling.md mount the one and name the other's password variable.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git make nodejs npm tmux \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/vso
COPY .ci/install_terraform.py .ci/install_terraform.py
RUN python .ci/install_terraform.py 1.11.4

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
