"""The Flower ServerApp and ClientApp, and the round loop they share.

`server.app` and `client.app` are what a SuperLink and SuperNodes load in the
deployed runtimes; `server.build_server_app` and `client.build_client_app`
give the same apps to Flower's simulation engine.
"""
