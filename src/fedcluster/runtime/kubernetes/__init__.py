"""The Kubernetes runtime: a central cluster and hospital clusters joined by Liqo.

`render` turns a federation file into manifests; `preflight` reads Liqo's view
of the peered hospitals; `deploy` applies, waits, registers keys and removes;
`status` maps hospitals to pods, virtual nodes and Flower nodes; `submission`
gives the `run` command an address for the Control API. Every call to
`kubectl`, `liqoctl` and `flwr` goes through `tools`.
"""
