"""Key material for the deployed runtimes: a CA, the SuperLink's TLS certificate
and one SuperNode key pair per hospital (see `fedcluster.security.pki`)."""
