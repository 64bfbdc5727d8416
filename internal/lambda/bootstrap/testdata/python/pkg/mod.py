def fn(event, context):
    return "nested"
