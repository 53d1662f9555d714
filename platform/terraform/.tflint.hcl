# tflint over every module and environment: `tflint --recursive --config "$PWD/.tflint.hcl"`.
# Only the bundled `terraform` ruleset: rulesets are plugins, downloaded from GitHub, and the
# AWS ruleset's checks are covered by checkov and the policy tests in suites/platform/terraform.

config {
  call_module_type = "none"
  force            = false
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}

rule "terraform_naming_convention" {
  enabled = true
  format  = "snake_case"
}
