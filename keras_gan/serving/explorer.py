"""The sample explorer page (placeholder until the page lands)."""


def install(app):
    pass
