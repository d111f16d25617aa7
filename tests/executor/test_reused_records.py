"""What a run whose steps are all reused reads once and shares between its steps
(executor/engine.py `env_spec`, executor/stepenv.py `ReusedTogether`): the answers are those
read for each step alone."""
from __future__ import annotations

import tempfile
from pathlib import Path
from types import SimpleNamespace

from hypothesis import given, settings, strategies as st

from canalis.executor.engine import RunExecutor
from canalis.executor.envspec import EnvSpec
from canalis.executor.plan import Plan, StepSpec
from canalis.executor.stepenv import ReusedTogether, reused_environment
from canalis.store.local import LocalStore

_environments = st.builds(
    lambda user_managed, pip, python, docker, digest: {
        "digest": digest,
        "definition": {"name": "e", "python": {"user_managed_dependencies": user_managed, "interpreter_path": "python",
                                               "conda_dependencies": {"pip": pip, "python": python} if pip or python else None},
                       "docker": {"enabled": docker, "base_image": "b", "base_dockerfile": None},
                       "environment_variables": {}},
        **({"runner": "docker", "docker": {}} if docker else {}),
    },
    st.booleans(), st.lists(st.sampled_from(["numpy==1.0", "azureml-core", "-i https://x", "pandas"]), max_size=3),
    st.sampled_from([None, "3", ">=3.0", "2.7"]), st.booleans(), st.sampled_from(["a" * 64, "b" * 64]),
)


def _executor(steps, root: Path) -> RunExecutor:
    return RunExecutor(ledger=None, store=None, plan=Plan(steps=steps), run_id="r", parameters={},
                       scratch_dir=root / "runs", locks_dir=root / "locks")


@settings(max_examples=40, deadline=None)
@given(first=st.lists(_environments, min_size=1, max_size=4), second=st.lists(_environments, min_size=1, max_size=4))
def test_a_steps_environment_spec_read_once_is_the_one_read_each_time(first, second, tmp_path_factory):
    """Each step's spec is EnvSpec.of(its environment), also after the plan's step is replaced
    by one of the same name with another environment."""
    root = tmp_path_factory.mktemp("run")
    steps = [StepSpec(name=f"s{i}", kind="python", source_tree="0" * 64, script="s.py", environment=env)
             for i, env in enumerate(first)]
    executor = _executor(steps, root)
    for _ in range(2):
        for step in steps:
            assert executor.env_spec(step) == EnvSpec.of(step.environment)
    replaced = [StepSpec(name=f"s{i}", kind="python", source_tree="0" * 64, script="s.py", environment=env)
                for i, env in enumerate(second)]
    for step in replaced:
        assert executor.env_spec(step) == EnvSpec.of(step.environment)


@settings(max_examples=10, deadline=None)
@given(count=st.integers(1, 5))
def test_reused_steps_recorded_together_record_what_each_records_alone(count):
    """Sharing the interpreter and its packages blob changes no event, and stores the blob once."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = LocalStore(root / "objects")
        puts = []
        real_put = store.put_bytes

        def put_bytes(data):
            puts.append(data)
            return real_put(data)

        store.put_bytes = put_bytes
        run = SimpleNamespace(run_id="r", store=store, locks_dir=root / "locks")
        environment = {"digest": "c" * 64, "definition": {"python": {"user_managed_dependencies": True}}}
        alone = [reused_environment(run, environment, f"sr{i}", f"s{i}") for i in range(count)]
        puts.clear()
        together = ReusedTogether()
        shared = [reused_environment(run, environment, f"sr{i}", f"s{i}", together) for i in range(count)]
        assert shared == alone
        assert len(puts) <= 1
