# Built-in terraform ruleset only: the AWS ruleset plugin is downloaded from
# GitHub, which the offline check cannot reach.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
