"""Each stage is synthesized once per session (7-14 s each) and shared by every infra test.

``synth`` is parametrized over both stages; ``dev`` and ``prod`` name one stage for the tests
that only apply to it.
"""

from __future__ import annotations

import os

# jsii prints an end-of-life banner for Node 20 on every import unless silenced first.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from collections.abc import Callable

import pytest

from tests.infra.support import STAGES, Synth, synthesize

SynthFactory = Callable[[str], Synth]


@pytest.fixture(scope="session")
def synth_stage(tmp_path_factory: pytest.TempPathFactory) -> SynthFactory:
    built: dict[str, Synth] = {}

    def get(stage: str) -> Synth:
        if stage not in built:
            built[stage] = synthesize(stage, tmp_path_factory.mktemp(f"cdk.out.{stage}"))
        return built[stage]

    return get


@pytest.fixture(params=STAGES)
def synth(request: pytest.FixtureRequest, synth_stage: SynthFactory) -> Synth:
    return synth_stage(request.param)


@pytest.fixture
def dev(synth_stage: SynthFactory) -> Synth:
    return synth_stage("dev")


@pytest.fixture
def prod(synth_stage: SynthFactory) -> Synth:
    return synth_stage("prod")
