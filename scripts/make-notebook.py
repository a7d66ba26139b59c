"""Writes a notebook (no outputs, tslab kernel) from a simple cell list: used to author notebooks/*.ipynb.
Usage from another script: make_notebook(path, [("md", text), ("code", source), ...])."""
import nbformat

def make_notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "tslab", "display_name": "TypeScript (tslab, ∞-Diff lab)", "language": "typescript"},
        "language_info": {"name": "typescript", "file_extension": ".ts", "mimetype": "text/typescript"},
    }
    nb.cells = [nbformat.v4.new_markdown_cell(src.strip("\n")) if kind == "md" else nbformat.v4.new_code_cell(src.strip("\n"))
                for kind, src in cells]
    for c in nb.cells:  # stable ids keep diffs small
        c.id = f"c{nb.cells.index(c):02d}"
    nbformat.validate(nb)
    nbformat.write(nb, path)
