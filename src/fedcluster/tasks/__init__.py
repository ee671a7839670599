"""Tasks: what is trained (model, site data, training, metrics).

A task is anything that follows the `Task` protocol in `base`. The built-in
`heart` task classifies clinical tables; a user's own task is named in the
federation file by import path, `package.module:Name`.
"""
