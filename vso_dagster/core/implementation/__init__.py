"""A slice built on its own branch and worktree, by the scaffold agent or a team of agents in tmux."""
