"""The benchmark's Python function: returns its event unchanged."""


def main(event, context):
    return event
