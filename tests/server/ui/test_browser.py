"""The web UI in a real headless Chromium against `canalis serve` on 127.0.0.1: the pages a
person opens, what they must show, and no console errors. Screenshots: see conftest.py."""
from __future__ import annotations

import re

import pytest

from tests.server.ui import demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_experiments_page(clean_console, ui_demo):
    page = clean_console.open("/")
    assert page.title().startswith("Experiments")
    demo_row = page.get_by_role("row").filter(has=page.get_by_role("link", name="demo", exact=True))
    assert demo_row.get_by_role("cell").nth(1).inner_text() == "2"
    assert "Failed" in demo_row.inner_text()  # the last run's status
    clean_console.shot("experiments")
    page.get_by_role("link", name="demo", exact=True).click()
    page.wait_for_url(re.compile(r"/experiments/demo$"))
    assert page.locator("tr[data-run]").count() == 2
    clean_console.shot("runs")


def test_run_graph_shows_steps_reuse_and_data(clean_console, ui_demo):
    page = clean_console.open(f"/runs/{ui_demo.runs[1]}")
    nodes = page.locator("svg.dag g.node")
    assert sorted(nodes.evaluate_all("ns => ns.map(n => n.dataset.step)")) == ["evaluate", "prepare", "train"]
    statuses = dict(nodes.evaluate_all("ns => ns.map(n => [n.dataset.step, n.dataset.status])"))
    assert statuses == {"prepare": "Reused", "train": "Completed", "evaluate": "Failed"}
    assert page.locator("svg.dag g.node.reused .reused-mark").count() == 1
    assert page.locator("svg.dag g.node[data-step=prepare] .reused-mark").text_content() == "↺ reused"
    labels = page.locator("svg.dag .edge-label").all_text_contents()
    assert "prepared" in labels and "model" in labels
    box = page.locator("svg.dag").bounding_box()
    assert box["width"] > 0 and box["height"] > 0
    clean_console.shot("run")


def test_clicking_a_failed_step_shows_its_stderr(clean_console, ui_demo):
    page = clean_console.open(f"/runs/{ui_demo.runs[1]}")
    page.locator("svg.dag g.node[data-step=evaluate] a").click()
    page.wait_for_url(re.compile(rf"/runs/{ui_demo.runs[1]}/steps/evaluate$"))
    assert "evaluation failed: the model scored below the threshold" in page.locator("pre#stderr").inner_text()
    assert "evaluating" in page.locator("pre#stdout").inner_text()
    assert page.locator("#step-status").inner_text() == "Failed"
    assert "ran" in page.locator("#why").inner_text()
    clean_console.shot("failed-step")


def test_metric_chart(clean_console, ui_demo):
    page = clean_console.open(f"/runs/{ui_demo.runs[0]}/steps/train")
    chart = page.locator("section[data-metric=loss] svg.chart")
    assert chart.is_visible()
    points = chart.locator("polyline").get_attribute("points").split()
    assert len(points) == 8
    ys = [float(p.split(",")[1]) for p in points]
    assert ys == sorted(ys)  # the loss falls, so the line goes down the chart (y grows downwards)
    assert chart.get_attribute("aria-label").startswith("loss: 8 values")
    table = page.locator("section[data-metric=per_class] table")
    assert table.locator("tbody tr").count() == 2
    clean_console.shot("metrics")


def test_model_lineage(clean_console, ui_demo):
    page = clean_console.open("/models")
    page.get_by_role("link", name="clf", exact=True).click()
    page.wait_for_url(re.compile(r"/models/clf$"))
    graph = page.locator("svg.dag")
    kinds = graph.locator("g.node").evaluate_all("ns => ns.map(n => n.getAttribute('class'))")
    assert any("focus" in k for k in kinds)  # the model itself
    step_link = graph.locator(f'a[href="/runs/{ui_demo.runs[1]}/steps/train"]')
    assert step_link.count() == 1
    clean_console.shot("model-lineage")
    step_link.click()
    page.wait_for_url(re.compile(r"/steps/train$"))


def test_compare_pipelines_audit(clean_console, ui_demo):
    first, second = ui_demo.runs
    page = clean_console.open(f"/experiments/demo")
    for r in (first, second):
        page.get_by_role("checkbox", name=f"Pick run {r} to compare").check()
    page.get_by_role("button", name="Compare the runs picked").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    assert page.locator("table.compare tr.differs").count() >= 2
    clean_console.shot("compare")
    clean_console.open("/pipelines")
    assert page.get_by_role("cell", name="demo-nightly").is_visible()
    clean_console.shot("pipelines")
    clean_console.open("/audit")
    assert "the hash chain holds" in page.locator("#verify").inner_text()
    clean_console.shot("audit")
    clean_console.open("/datasets/raw")
    assert page.locator("svg.dag g.node").count() >= 3
    clean_console.shot("dataset-lineage")


def test_keyboard_moves_through_table_cells(clean_console, ui_demo):
    page = clean_console.open("/experiments/many")
    first = page.locator("table.runs thead th").first
    first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.innerText")
    assert focused.strip() == page.locator("table.runs tbody tr").first.locator("td").nth(1).inner_text().strip()


def test_a_running_run_updates_live(clean_console, ui_demo):
    """The step page streams a running step's stdout; the run page recolours its graph as steps end."""
    run, gate1, gate2 = demo.submit_gated(ui_demo.ws, ui_demo.root)
    try:
        page = clean_console.open(f"/runs/{run.id}/steps/one")
        page.wait_for_function("document.querySelector('pre#stdout').innerText.includes('started')")
        page.evaluate("window.stillHere = true")
        gate1.write_text("")
        page.wait_for_function("document.querySelector('pre#stdout').innerText.includes('finished after the gate')")
        assert page.evaluate("window.stillHere") is True  # appended in place, not by reloading
        page.wait_for_function("document.querySelector('#step-status').innerText === 'Completed'")
        clean_console.open(f"/runs/{run.id}")
        page.wait_for_selector("svg.dag g.node[data-step=two][data-status=Running]")
        assert page.locator("#run-status").inner_text() == "Running"
        clean_console.shot("live-run")
        gate2.write_text("")
        page.wait_for_selector("svg.dag g.node[data-step=two][data-status=Completed]")
        page.wait_for_function("document.querySelector('#run-status').innerText === 'Completed'")
    finally:
        gate1.write_text("")
        gate2.write_text("")
        run.wait_for_completion(show_output=False, raise_on_error=False)
