#!/usr/bin/env python3
"""Executes notebooks top to bottom (nbclient, the Python 3 kernel of this venv) and writes the
executed copies to OUT. A notebook fails when any cell raises; its error is printed with the
cell. Prints 'N passed, M failed' and exits 1 on any failure.

Usage: .venv/bin/python execute.py OUT NOTEBOOK.ipynb...
"""
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from jupyter_client.manager import KernelManager
from nbclient.exceptions import CellExecutionError


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 64
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    passed = failed = 0
    for name in sys.argv[2:]:
        path = Path(name)
        nb = nbformat.read(path, as_version=4)
        # the kernel talks over Unix sockets in a private folder, not TCP
        sockets = tempfile.TemporaryDirectory(prefix="mimamori-kernel-")
        km = KernelManager(kernel_name="python3", transport="ipc", connection_file=f"{sockets.name}/kernel.json")
        km.ip = f"{sockets.name}/kernel"
        client = NotebookClient(nb, km=km, timeout=600, resources={"metadata": {"path": str(here)}})
        started = time.monotonic()
        try:
            client.execute()
            passed += 1
            print(f"ok     {path.name} ({time.monotonic() - started:.1f} s)")
        except CellExecutionError as e:
            failed += 1
            print(f"FAILED {path.name}\n{e}")
        finally:
            nbformat.write(nb, out / path.name)
            sockets.cleanup()
    print(f"notebooks: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
