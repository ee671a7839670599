"""Site data: reading a hospital's own file, checking it, preparing features.

Nothing in this package sends data anywhere. It turns one hospital's file into
training and test tensors, and into the aggregate statistics (counts, sums,
sums of squares) that federated standardisation shares with the server.
"""
