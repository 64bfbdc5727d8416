def main(event, context:
    return None
