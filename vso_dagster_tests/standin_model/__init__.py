"""STAND-IN model APIs on loopback: no model is reachable from the test machines, but the agent
CLIs are, so they run for real against these servers, which play a scripted agent."""
