"""One topology spec: every view of the topics derives from streams/topology.py, so a topic
added there shows up in the settings, the plan, the Faust topics and the test harness."""

import dataclasses
from pathlib import Path

import pytest
from pydantic import create_model

from streams.app import create_app
from streams.clients import DEFAULT_ERRORS_TOPIC, DEFAULT_RESULTS_TOPIC
from streams.clients.health import DEFAULT_HEALTH_TOPIC
from streams.config import ServiceSettings, TopicSettings, load_service_settings, topic_settings
from streams.tables import Tables
from streams.testing import harness
from streams.testing.harness import PipelineEnv
from streams.topics import topic_plan
from streams.topology import (
    DEAD_LETTER,
    REQUESTS,
    STREAM,
    TABLE,
    TOPOLOGY,
    KafkaTopics,
    TopicEntry,
    Topology,
)

STRATEGIES = ["ClusterConnectivity", "Generic"]
NOTES = TopicEntry("notes", "tmc.recovery.notes", STREAM, False, "a topic added by a test")
EXTENDED = Topology((*TOPOLOGY.entries, NOTES))


def env(tmp_path: Path) -> PipelineEnv:
    return PipelineEnv("127.0.0.1:9", tmp_path / "fleet.yaml", tmp_path, prefix="pt")


def test_every_entry_is_a_setting_with_its_default() -> None:
    topics = TopicSettings()
    for entry in TOPOLOGY.entries:
        assert topics.name(entry) == entry.default
    assert topics.requests("Sync") == f"{TOPOLOGY.requests.default}Sync"


def test_public_names_are_the_ones_clients_know() -> None:
    """The public topics are a contract with outside clients: renaming one is deliberate."""
    public = {entry.name: entry.default for entry in TOPOLOGY.entries if entry.public}
    assert public == {
        "errors": "tmc.errors",
        "dlq": "tmc.errors.dlq",
        "results": "tmc.recovery.results",
        "escalations": "tmc.recovery.escalations",
        "events": "tmc.recovery.events",
        "health": "tmc.health.reports",
        "audit": "tmc.recovery.audit",
        "status": "tmc.recovery.status.v2",
        "summaries": "tmc.recovery.clusters.v2",
    }
    assert public["errors"] == DEFAULT_ERRORS_TOPIC
    assert public["results"] == DEFAULT_RESULTS_TOPIC
    assert public["health"] == DEFAULT_HEALTH_TOPIC


@pytest.mark.parametrize("entry", TOPOLOGY.entries, ids=lambda entry: entry.setting)
def test_each_name_is_configured_by_env_and_file(
    entry: TopicEntry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tmc.yaml"
    path.write_text(f"topics:\n  {entry.setting}: from.file\n")
    assert load_service_settings(path).topics.name(entry) == "from.file"
    monkeypatch.setenv(f"TMC_TOPICS__{entry.setting.upper()}", "from.env")
    assert load_service_settings(path).topics.name(entry) == "from.env"


def test_plan_has_every_entry_with_its_kind() -> None:
    topics = TopicSettings.model_validate({**TOPOLOGY.under("pt"), "partitions": 5})
    plan = {spec.name: spec for spec in topic_plan(topics, STRATEGIES)}
    for entry in TOPOLOGY.entries:
        names = [topics.requests(s) for s in STRATEGIES] if entry.kind is REQUESTS else []
        for name in names or [topics.name(entry)]:
            spec = plan.pop(name)
            assert (spec.entry, spec.partitions) == (entry, 5)
            assert spec.cleanup_policy == entry.kind.cleanup_policy
    assert not plan, f"planned but not in the spec: {sorted(plan)}"


def test_retention_comes_from_the_kind_setting() -> None:
    topics = TopicSettings(retention_ms=86_400_000, dlq_retention_ms=172_800_000)
    configs = {spec.entry.kind: spec.config for spec in topic_plan(topics, STRATEGIES)}
    assert configs[STREAM]["retention.ms"] == configs[REQUESTS]["retention.ms"] == "86400000"
    assert configs[DEAD_LETTER]["retention.ms"] == "172800000"
    assert configs[TABLE] == {"cleanup.policy": "compact"}


def test_faust_topics_and_tables_carry_the_configured_names() -> None:
    settings = ServiceSettings.model_validate({"topics": TOPOLOGY.under("pt")})
    app = create_app(settings)
    topics = KafkaTopics.declare(app, settings.topics, STRATEGIES)
    for entry in TOPOLOGY.streams:
        assert getattr(topics, entry.name).get_topic_name() == settings.topics.name(entry)
    assert {s: t.get_topic_name() for s, t in topics.requests.items()} == {
        s: settings.topics.requests(s) for s in STRATEGIES
    }
    tables = Tables.declare(app, settings.topics)
    changelogs = {
        field.name: getattr(tables, field.name).changelog_topic.get_topic_name()
        for field in dataclasses.fields(Tables)
    }
    table_entries = [entry for entry in TOPOLOGY.entries if entry.kind is TABLE]
    assert changelogs == {entry.name: settings.topics.name(entry) for entry in table_entries}


def test_harness_names_every_entry_under_its_prefix(tmp_path: Path) -> None:
    names = env(tmp_path).topics
    assert names.pop("partitions") == 3
    assert names == {entry.setting: entry.under("pt") for entry in TOPOLOGY.entries}
    assert names["requests_prefix"] == "pt.requests."
    assert len(set(names.values())) == len(names)


def test_an_added_entry_shows_up_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_model = topic_settings(EXTENDED)
    assert settings_model().name(NOTES) == "tmc.recovery.notes"
    service = create_model(
        "Service", __base__=ServiceSettings, topics=(settings_model, settings_model())
    )
    monkeypatch.setenv("TMC_TOPICS__NOTES", "ops.notes")
    topics = service().topics
    assert topics.name(NOTES) == "ops.notes"

    [spec] = [spec for spec in topic_plan(topics, STRATEGIES, EXTENDED) if spec.entry is NOTES]
    assert (spec.name, spec.cleanup_policy) == ("ops.notes", "delete")

    faust_topics = KafkaTopics.declare(create_app(service()), topics, STRATEGIES, EXTENDED)
    assert faust_topics.notes.get_topic_name() == "ops.notes"

    monkeypatch.setattr(harness, "TOPOLOGY", EXTENDED)
    assert env(tmp_path).topics["notes"] == "pt.notes"


def test_a_contradictory_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="share a name"):
        Topology((*TOPOLOGY.entries, dataclasses.replace(NOTES, name="errors")))
    with pytest.raises(ValueError, match="share a default"):
        Topology((*TOPOLOGY.entries, dataclasses.replace(NOTES, default="tmc.errors")))
    with pytest.raises(ValueError, match="exactly one REQUESTS"):
        Topology(tuple(entry for entry in TOPOLOGY.entries if entry.kind is not REQUESTS))
    with pytest.raises(KeyError, match="is a stream, not a table"):
        TOPOLOGY.table("results")
