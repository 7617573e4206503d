"""The infraspec: an app's infraspec.yaml, read, checked and found. Import the module you need.

  names       the app-name and DNS name checks, without pydantic (`norn status`, `teardown`, settings)
  wording     how a problem shows the value it got, and "did you mean"
  cron        CronJob schedules as Kubernetes reads them
  checks      the value checks and what is valid, said once
  rules       the rules that span keys
  model       the pydantic models: the contract other modules use
  problems    one line per problem, and InfraspecInvalid
  yamlread    file and YAML -> data with the line of every key; hostile input refused cheaply
  messages    pydantic's errors -> our problems, sorted by line
  loading     load one file; check_forgeable
  discovery   find an app's infraspec (find, find_and_load)
  digest      spec_digest, for `status --live`

This file imports nothing: `norn status` and `norn teardown` import `names` through it
and must not pay for pydantic or PyYAML.
"""
