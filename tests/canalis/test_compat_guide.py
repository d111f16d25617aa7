"""docs/migrating-from-sdk-v1.md lists every SDK v1 name canalis offers, generated from the code."""
from pathlib import Path

from canalis.compat import guide, names


def test_guide_table_matches_the_mapping():
    doc = Path(__file__).resolve().parents[2] / "docs" / "migrating-from-sdk-v1.md"
    text = doc.read_text(encoding="utf-8")
    assert text == guide.rewrite(text), "regenerate with: python -m canalis.compat.guide"
    for module, name, _ in names.table():
        assert f"| `{module}` | `{name}` |" in text


def test_guide_names_what_the_mapping_answers_for_the_core_modules():
    offered = {(m, n) for m, n, _ in names.table()}
    for pair in [("azureml.core", "Workspace"), ("azureml.core", "VERSION"), ("azureml.core.model", "Dataset"),
                 ("azureml.core.runconfig", "CondaDependencies"), ("azureml.widgets", "RunDetails"),
                 ("azureml.core.compute", "AmlCompute"), ("azureml.pipeline.steps", "DataTransferStep"),
                 ("azureml.data.datapath", "DataPathComputeBinding"),
                 ("azureml.data.dataset_consumption_config", "DatasetConsumptionConfig"),
                 ("azureml.core.authentication", "MsiAuthentication")]:
        assert pair in offered, pair
