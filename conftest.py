pytest_plugins = [
    "fixtures.markers",
    "fixtures.settings",
    "fixtures.platform",
    "fixtures.shop",
    "fixtures.toxiproxy",
    "fixtures.slo",
    "fixtures.logs",
    "fixtures.observability",
    "fixtures.full_platform",
    "fixtures.chaos",
    "fixtures.resilience",
    "fixtures.allure",
]
