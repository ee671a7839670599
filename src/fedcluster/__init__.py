"""fedcluster: federated learning for hospitals that keep their patients' data.

A central server aggregates models; each hospital trains next to its own data.
The same federation file runs simulated on one machine, as real processes on one
machine, or across Kubernetes clusters joined with Liqo.
"""

__version__ = "0.1.0"
