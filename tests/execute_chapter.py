"""Execute one chapter in a fresh kernel of this Python and save it with its outputs:
`python tests/execute_chapter.py CHAPTER.ipynb OUT.ipynb [TIMEOUT]` (tests/conftest.py runs several
of these at once, each in its own process). TIMEOUT: seconds a cell may take (default 1200, as
the book's build; -1 for none, for the cpu preset's long trainings)."""

from __future__ import annotations

import sys
from pathlib import Path


def execute(path: Path, out: Path, timeout: int = 1200) -> None:
    """Run every cell of chapter `path` (from its own folder); write the result to `out`."""
    import nbformat
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    class ThisEnvironment(KernelManager):
        """The kernel of this very Python (as nbval's --nbval-current-env did)."""

        def format_kernel_cmd(self, extra_arguments=None):
            command = super().format_kernel_cmd(extra_arguments)
            return [sys.executable, *command[1:]] if "ipykernel" in " ".join(command) \
                else command

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=None if timeout < 0 else timeout, kernel_name="python3",
                   kernel_manager_class=ThisEnvironment, allow_errors=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(notebook, out)


if __name__ == "__main__":
    execute(Path(sys.argv[1]), Path(sys.argv[2]), *(int(arg) for arg in sys.argv[3:4]))
