"""Write canalis/compat/sdk_v1_names.json: the public names of the Azure ML SDK v1 modules.

For each public module of the SDK v1 wheels (azureml-core, azureml-pipeline-core,
azureml-pipeline-steps, azureml-widgets, azureml-train-automl-client), the names it binds at
top level that SDK v1 code can import from it: the classes, functions and constants it defines,
and the names it imports from other `azureml` modules (SDK v1 code imports `Dataset` from
`azureml.core.model` because that module imports it). Each name is recorded with the module
that defines it, following imports, so that canalis can answer it from the canalis module
mirroring that origin. Names starting with `_` and names imported from outside `azureml`
(`os`, `typing` ...) are left out. The wheels are read as zip files; nothing is imported.

    python tools/sdk_v1_names.py WHEEL... > canalis/compat/sdk_v1_names.json

Get the wheels with `pip download --no-deps azureml-core azureml-pipeline-core
azureml-pipeline-steps azureml-widgets azureml-train-automl-client`.
"""
from __future__ import annotations

import ast
import json
import sys
import zipfile


def module_name(path: str) -> str | None:
    if not path.startswith("azureml/") or not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if any(p.startswith("_") for p in parts):
        return None
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str | None:
    if node.level == 0:
        return node.module
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def bindings(tree: ast.Module, module: str, is_package: bool) -> dict[str, object]:
    """name -> "" (defined here) or (source module, source name) (imported from azureml)."""
    out: dict[str, object] = {}

    def visit(body):
        for node in body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                out[node.name] = ""
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and n.id != "__all__":
                            out[n.id] = ""
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(node, module, is_package)
                if source and source.split(".")[0] == "azureml":
                    for a in node.names:
                        if a.name != "*":
                            out[a.asname or a.name] = (source, a.name)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                for h in getattr(node, "handlers", []):
                    visit(h.body)
                visit(getattr(node, "orelse", []))
                visit(getattr(node, "finalbody", []))

    visit(tree.body)
    return out


def main(wheels: list[str]) -> dict:
    raw: dict[str, dict[str, object]] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for path in z.namelist():
                name = module_name(path)
                if name is None:
                    continue
                tree = ast.parse(z.read(path).decode("utf-8", errors="replace"))
                raw[name] = bindings(tree, name, path.endswith("__init__.py"))
    # everything modules import from private modules (azureml._base_sdk_common ...) is not followed
    def origin(module: str, name: str, seen=()) -> str | None:
        value = raw.get(module, {}).get(name)
        if value is None:
            return None
        if value == "":
            return module
        src_module, src_name = value
        if (src_module, src_name) in seen:
            return None
        found = origin(src_module, src_name, (*seen, (module, name)))
        if found is None and src_module in raw:
            return None
        return found or src_module  # a name from a private module: it comes from there
    out = {}
    for module in sorted(raw):
        names = {}
        for name in sorted(raw[module]):
            if name.startswith("_"):
                continue
            o = origin(module, name)
            if o is not None:
                names[name] = o
        out[module] = names
    return out


if __name__ == "__main__":
    data = main(sys.argv[1:])
    json.dump({"sdk": "azureml-core 1.61, azureml-pipeline-core/steps 1.62, azureml-widgets 1.62, "
                      "azureml-train-automl-client 1.62", "modules": data}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
