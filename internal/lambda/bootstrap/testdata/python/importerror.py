import portico_module_that_does_not_exist  # noqa: F401


def main(event, context):
    return None
