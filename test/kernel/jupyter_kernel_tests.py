"""Runs jupyter_kernel_test's protocol conformance suite against the gplab kernel.

The kernelspec must be findable by jupyter_client (the node test installs it
under a temporary prefix and points JUPYTER_PATH there). Exit status 0 means
every test passed; the unittest report goes to stderr.
"""
import sys
import unittest

import jupyter_kernel_test

DISPLAYABLE = (
    'display({ [Symbol.for("Jupyter.display")]() { '
    'return { "text/plain": "a table", "text/html": "<b>a table</b>" }; } })'
)


class GplabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "gplab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("something went wrong")'

    completion_samples = [
        {"text": "Math.ma", "matches": {"max"}},
        {"text": "const greeting = 'hi'; greeti", "matches": {"greeting"}},
        {"text": "gp.backend.inf", "matches": {"info"}},
    ]

    complete_code_samples = ["1 + 1", "const x = 1;", "function f() { return 1; }", "for (const i of [1]) {}"]
    incomplete_code_samples = ["function f() {", "const xs = [1, 2,", "/* a comment", "if (true) {\n  console.log(1);"]
    invalid_code_samples = ["const = 1;", "1 +* 2;", "}", "let 9x = 1;"]

    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "'a' + 'b'", "result": "'ab'"},
        {"code": "[1, 2].map((v) => v * 10)", "result": "[ 10, 20 ]"},
    ]
    code_display_data = [
        {"code": DISPLAYABLE, "mime": "text/html"},
        {"code": DISPLAYABLE, "mime": "text/plain"},
    ]

    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "1 + *"

    code_inspect_sample = "Math.max"
    code_clear_output = "clearOutput()"


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(GplabKernelTests)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    skipped = len(result.skipped)
    print(f"ran={result.testsRun} failures={len(result.failures)} errors={len(result.errors)} skipped={skipped}")
    sys.exit(0 if result.wasSuccessful() else 1)
