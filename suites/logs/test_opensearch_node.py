"""The OpenSearch node assembled from Maven Central jars is a real OpenSearch 2.19, within budget."""

from __future__ import annotations

import pytest
import requests
from docker import DockerClient

from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.testing import OpenSearchNode
from stormcheck.timeline import EventKind

pytestmark = pytest.mark.integration


def test_root_reports_the_opensearch_distribution_and_version_2_19(
    opensearch_store: OpenSearchStore,
) -> None:
    info = opensearch_store.info()
    version = info["version"]
    assert version["distribution"] == "opensearch", info
    assert version["number"].startswith("2.19."), info


def test_node_loads_the_three_modules_and_runs_as_a_non_root_user(
    opensearch_node: OpenSearchNode, docker_client: DockerClient
) -> None:
    modules = requests.get(f"{opensearch_node.url}/_cat/plugins?h=component", timeout=5)
    nodes = requests.get(f"{opensearch_node.url}/_nodes/_local/plugins", timeout=5).json()
    loaded = {m["name"] for node in nodes["nodes"].values() for m in node["modules"]}
    assert {"transport-netty4", "lang-painless", "analysis-common"} <= loaded, loaded
    assert modules.status_code == 200
    container = docker_client.containers.get(opensearch_node.container)
    uid = container.exec_run(["id", "-u"]).output.decode().strip()
    assert uid != "0", f"the node runs as uid {uid}"


def test_node_readiness_is_on_the_timeline_and_memory_is_limited_to_1_gib(
    opensearch_node: OpenSearchNode, docker_client: DockerClient
) -> None:
    # the 45 s budget itself is the fixture's ready timeout: a slower node fails the fixture
    ready = opensearch_node.folder.timeline.events(EventKind.COMPONENT_READY)
    assert [e.name for e in ready] == ["opensearch"], ready
    assert float(ready[0].attrs["seconds"]) > 0, ready
    container = docker_client.containers.get(opensearch_node.container)
    limit = int(container.attrs["HostConfig"]["Memory"])
    assert 0 < limit <= 1024**3, f"memory limit {limit} bytes"


def test_painless_scripts_and_common_analysis_run(opensearch_node: OpenSearchNode) -> None:
    script = requests.post(
        f"{opensearch_node.url}/_scripts/painless/_execute",
        json={"script": {"source": "params.a * 2", "params": {"a": 21}}},
        timeout=10,
    )
    assert script.json() == {"result": "42"}, script.text
    analysed = requests.post(
        f"{opensearch_node.url}/_analyze",
        json={"tokenizer": "standard", "filter": ["lowercase", "stop"], "text": "The Shop"},
        timeout=10,
    )
    assert [t["token"] for t in analysed.json()["tokens"]] == ["shop"], analysed.text


def test_the_index_template_maps_a_new_daily_index(
    opensearch_store: OpenSearchStore, opensearch_node: OpenSearchNode
) -> None:
    index = "logs-template-check-2026.11.26"
    opensearch_store.index_documents(index, [{"@timestamp": "2026-11-26T12:00:00Z", "status": 200}])
    mapping = requests.get(f"{opensearch_node.url}/{index}/_mapping", timeout=5).json()
    properties = mapping[index]["mappings"]["properties"]
    assert properties["request_id"] == {"type": "keyword"}
    assert properties["duration_ms"] == {"type": "float"}
    settings = requests.get(f"{opensearch_node.url}/{index}/_settings", timeout=5).json()
    assert settings[index]["settings"]["index"]["number_of_replicas"] == "0"
