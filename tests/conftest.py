pytest_plugins = ["tests.kubeapi.fixtures", "tests.cfapi.fixtures"]
