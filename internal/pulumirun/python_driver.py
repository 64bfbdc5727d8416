"""Portico's driver for Pulumi Python programs.

Run as `python -u python_driver.py PROGRAM` with the environment a Pulumi
language host gives (PULUMI_MONITOR, PULUMI_ENGINE, PULUMI_PROJECT, ...).
It configures the Pulumi SDK's settings for Portico's resource monitor and
engine and runs PROGRAM (a directory holding __main__.py, or a .py file) as
__main__ inside the SDK's stack, through the SDK's own entry points
(settings.configure, run_in_stack).

When the program raises, the driver writes the error as JSON to the file
named by PORTICO_ERROR_FILE, placed at the innermost frame of the
program's own sources (not the SDK's, not the virtualenv's), and exits 32
as Pulumi's Python host does.
"""
import asyncio
import json
import os
import runpy
import sys
import traceback


def _own_frame(exc, root):
    """The innermost traceback frame in the program's own sources."""
    if isinstance(exc, SyntaxError) and exc.filename and not exc.filename.startswith("<"):
        # The program's own syntax: the error's position, not a frame's.
        path = os.path.abspath(exc.filename)
        if path.startswith(root + os.sep):
            return os.path.relpath(path, root), exc.lineno or 0
    best = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith("<"):
            continue  # frozen modules, <string>
        path = os.path.abspath(frame.filename)
        if not path.startswith(root + os.sep):
            continue
        if "site-packages" in path.split(os.sep) or os.sep + "." in path[len(root):]:
            continue
        best = frame
    if best is None:
        return "", 0
    return os.path.relpath(os.path.abspath(best.filename), root), best.lineno or 0


def _report(errfile, root, exc, message=None):
    file, line = _own_frame(exc, root) if exc is not None else ("", 0)
    if message is None:
        message = "%s: %s" % (type(exc).__name__, exc)
        if isinstance(exc, SyntaxError):
            message = "SyntaxError: %s" % exc.msg
    record = {
        "file": file,
        "line": line,
        "message": message,
        "traceback": "".join(traceback.format_exception(exc)) if exc is not None else "",
    }
    if errfile:
        with open(errfile, "w", encoding="utf-8") as f:
            json.dump(record, f)
    else:
        sys.stderr.write(record["traceback"] or message)


def main():
    program = os.path.abspath(sys.argv[1])
    root = os.path.abspath(os.environ.get("PULUMI_ROOT_DIRECTORY") or os.getcwd())
    errfile = os.environ.get("PORTICO_ERROR_FILE")
    try:
        import pulumi
        from pulumi.runtime import config, settings, stack
    except ImportError as exc:
        _report(errfile, root, None, "the Pulumi SDK is not installed in the program's virtualenv (%s): "
                "add pulumi to requirements.txt" % exc)
        return 32

    settings.configure(
        settings.Settings(
            project=os.environ["PULUMI_PROJECT"],
            stack=os.environ["PULUMI_STACK"],
            monitor=os.environ["PULUMI_MONITOR"],
            engine=os.environ["PULUMI_ENGINE"],
            parallel=int(os.environ.get("PULUMI_PARALLEL", "16")),
            dry_run=False,
            organization=os.environ.get("PULUMI_ORGANIZATION"),
            root_directory=root,
        )
    )
    config.set_all_config(
        json.loads(os.environ.get("PULUMI_CONFIG", "{}")),
        json.loads(os.environ.get("PULUMI_CONFIG_SECRET_KEYS", "[]")),
    )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(stack.run_in_stack(lambda: runpy.run_path(program, run_name="__main__")))
    except pulumi.RunError as exc:
        # The SDK's own errors: their message says it all.
        _report(errfile, root, exc, str(exc))
        return 32
    except BaseException as exc:  # the program's error, whatever it is
        _report(errfile, root, exc)
        return 32
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
