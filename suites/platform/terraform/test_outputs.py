"""What an environment gives the harness and the charts is named once, in modules/platform, and
matches stormcheck's aws settings: `tofu output -json stormcheck_settings` feeds `--profile aws`."""

from __future__ import annotations

import re
import tomllib

import pytest

from stormcheck.errors import ConfigError
from stormcheck.settings import PROFILES_DIR, TERRAFORM_OUTPUT_SETTINGS, load_settings
from suites.platform.terraform.broken import ROOT
from suites.platform.terraform.policy import Config, load_config

pytestmark = pytest.mark.static

# The outputs the shop and locust charts' values name (`(terraform) ... output `name``).
CHART_OUTPUTS = (
    "ecr_registry", "shop_irsa_role_arn", "rds_endpoint", "rds_port", "private_subnet_cidrs",
    "elasticache_primary_endpoint", "elasticache_port", "vpc_cidr", "rds_secret_name",
    "elasticache_auth_secret_name", "acm_certificate_arn", "waf_web_acl_arn",
)  # fmt: skip
# What `tofu output -json stormcheck_settings` prints for an applied environment (shape of AWS's values).
SAMPLE = {
    "aws_region": "eu-west-1",
    "kube_context": "arn:aws:eks:eu-west-1:123456789012:cluster/shop-staging",
    "logstore_url": "https://vpc-shop-staging-logs-abc123.eu-west-1.es.amazonaws.com",
    "aws_eks_cluster_name": "shop-staging",
    "aws_rds_instance_id": "shop-staging",
    "aws_rds_endpoint": "shop-staging.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com:5432",
    "aws_rds_reader_endpoint": "shop-staging-replica.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com:5432",
    "aws_redis_replication_group_id": "shop-staging",
    "aws_redis_endpoint": "master.shop-staging.abc123.euw1.cache.amazonaws.com:6379",
    "aws_node_security_group_id": "sg-0123456789abcdef0",
    "aws_database_security_group_id": "sg-0123456789abcdef1",
    "aws_redis_security_group_id": "sg-0123456789abcdef2",
    "aws_certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666",
    "aws_web_acl_arn": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop-staging/0a1b2c3d",
}


@pytest.fixture(scope="module")
def platform() -> Config:
    return load_config(ROOT / "modules" / "platform")


def _output(config: Config, name: str) -> object:
    block = next((b for b in config.of("output") if b.labels[0] == name), None)
    assert block is not None, f"{config.folder}: no output {name!r}"
    return block.body["value"]


def test_the_settings_output_names_exactly_the_aws_settings(platform: Config) -> None:
    value = _output(platform, "stormcheck_settings")
    assert isinstance(value, dict)
    assert sorted(value) == sorted(TERRAFORM_OUTPUT_SETTINGS)
    assert sorted(SAMPLE) == sorted(TERRAFORM_OUTPUT_SETTINGS)


def test_the_aws_profile_file_names_every_setting_the_output_feeds() -> None:
    profile = tomllib.loads((PROFILES_DIR / "aws.toml").read_text(encoding="utf-8"))
    assert set(TERRAFORM_OUTPUT_SETTINGS) <= set(profile)


def test_an_applied_environment_s_output_loads_as_aws_settings() -> None:
    env = {f"STORMCHECK_{key.upper()}": value for key, value in SAMPLE.items()}
    settings = load_settings("aws", env=env)
    for key, value in SAMPLE.items():
        assert getattr(settings, key) == value


def test_a_wrong_output_value_names_the_setting_and_the_expectation() -> None:
    env = {"STORMCHECK_AWS_RDS_ENDPOINT": "shop-staging.rds.amazonaws.com"}
    with pytest.raises(
        ConfigError, match=r"aws_rds_endpoint .*STORMCHECK_AWS_RDS_ENDPOINT.*host:port"
    ):
        load_settings("aws", env=env)


def _outputs(config: Config) -> dict[str, object]:
    return {b.labels[0]: b.body["value"] for b in config.of("output")}


@pytest.mark.parametrize("env", ["staging", "production", "dr"])
def test_each_environment_forwards_every_output_under_its_name(platform: Config, env: str) -> None:
    forwarded = _outputs(load_config(ROOT / "envs" / env))
    assert forwarded == {name: f"${{module.platform.{name}}}" for name in _outputs(platform)}


def test_the_outputs_the_charts_name_exist(platform: Config) -> None:
    """The charts' values say which output feeds them (`(terraform) ... output `name``)."""
    named = set(CHART_OUTPUTS)
    for values in (ROOT.parent / "charts").glob("*/values.yaml"):
        text = values.read_text(encoding="utf-8")
        for comment in re.findall(r"#.*\(terraform\).*", text):
            named |= set(re.findall(r"`([a-z_]+)`", comment))
    missing = named - set(_outputs(platform))
    assert not missing, f"outputs the charts expect but modules/platform does not give: {missing}"


def test_the_irsa_roles_of_the_add_ons_are_given(platform: Config) -> None:
    value = _outputs(platform)["irsa_role_arns"]
    assert isinstance(value, dict)
    assert set(value) == {
        "cluster-autoscaler", "external-secrets", "aws-load-balancer-controller", "log-shipper",
    }  # fmt: skip
