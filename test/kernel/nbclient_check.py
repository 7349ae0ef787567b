"""Executes a notebook with nbclient on the gplab kernel, then restarts a
kernel through jupyter_client, and prints a JSON summary on stdout.

The gplab kernelspec must be on JUPYTER_PATH (the node test arranges that).
"""
import json
import sys
import tempfile

import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

VEGALITE = "application/vnd.vegalite.v5+json"

CHART_CELL = """
const spec = {
  $schema: "https://vega.github.io/schema/vega-lite/v5.json",
  data: { values: [{ x: 0, y: 1 }, { x: 1, y: 3 }] },
  mark: "line",
  encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
};
const chart = { [Symbol.for("Jupyter.display")]: () => ({
  "text/plain": "a line chart",
  "application/vnd.vegalite.v5+json": spec,
  "image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'/>",
}) };
display(chart);
chart
"""


def json_kind(value):
    return "object" if isinstance(value, dict) else type(value).__name__


def run_notebook(workdir):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("const greeting: string = 'hello';\nconsole.log(greeting)"),
        nbformat.v4.new_code_cell(CHART_CELL),
        nbformat.v4.new_code_cell("typeof gp.backend.info().backend"),
    ]
    client = NotebookClient(nb, kernel_name="gplab", timeout=60, resources={"metadata": {"path": workdir}})
    client.execute()
    chart_outputs = nb.cells[1].outputs
    return {
        "execution_counts": [cell.execution_count for cell in nb.cells],
        "first_output": nb.cells[0].outputs[0].get("text"),
        "chart_output_types": [output.output_type for output in chart_outputs],
        # A JSON object arrives as a dict (NotebookNode); a string would mean JSON text.
        "vegalite_types": [json_kind(output.data[VEGALITE]) for output in chart_outputs],
        "vegalite_mark": chart_outputs[0].data[VEGALITE].get("mark"),
        "last_result": nb.cells[2].outputs[0].data["text/plain"],
    }


def execute(kc, code):
    reply = kc.execute_interactive(code, timeout=30, output_hook=lambda msg: None)
    return reply["content"]["status"]


def restart_kernel():
    km, kc = start_new_kernel(kernel_name="gplab")
    try:
        before_pid = km.provisioner.process.pid
        assert execute(kc, "let x = 1;") == "ok"
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=60)
        after_pid = km.provisioner.process.pid
        status = execute(kc, "1 + 1")
        forgot = execute(kc, "x")  # a fresh kernel does not know x
        return {"restarted": before_pid != after_pid, "status_after_restart": status, "old_variable_status": forgot}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as workdir:
        summary = {"notebook": run_notebook(workdir), "restart": restart_kernel()}
    json.dump(summary, sys.stdout)
