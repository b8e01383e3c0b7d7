"""A built slice deployed (local, Hetzner through Terraform, Modal), integration-tested, promoted to
production, and merged home."""
