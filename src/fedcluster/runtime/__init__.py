"""Where a federation runs: simulated here, as local processes, or on Kubernetes."""
