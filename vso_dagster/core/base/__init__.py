"""What every stage shares: the project on disk and its state, the master spec's reader and the plan
model, config, templating, git and worktrees, errors and names. It imports no stage room."""
