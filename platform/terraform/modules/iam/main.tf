################################################################################
# CI: GitHub Actions assumes a role through OIDC. No IAM user, no long-lived key.
################################################################################

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  github_oidc_url = "token.actions.githubusercontent.com"
  github_oidc_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.github_oidc_url}"
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = "https://${local.github_oidc_url}"
  client_id_list = ["sts.amazonaws.com"]
  # GitHub's intermediate CA thumbprints; IAM verifies this issuer against its own trust store.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]

  tags = var.tags
}

data "aws_iam_policy_document" "ci_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_url}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_url}:sub"
      values   = [for env in var.github_environments : "repo:${var.github_repository}:environment:${env}"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.name}-ci"
  description          = "GitHub Actions deployments of ${var.github_repository}"
  assume_role_policy   = data.aws_iam_policy_document.ci_assume.json
  max_session_duration = 3600

  tags = var.tags

  depends_on = [aws_iam_openid_connect_provider.github]
}

data "aws_iam_policy_document" "ci" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPush"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = var.ecr_repository_arns
  }

  statement {
    sid       = "EksDescribe"
    actions   = ["eks:DescribeCluster"]
    resources = ["arn:${data.aws_partition.current.partition}:eks:*:${data.aws_caller_identity.current.account_id}:cluster/${var.name}"]
  }
}

resource "aws_iam_role_policy" "ci" {
  name   = "deploy"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.ci.json
}

################################################################################
# Nodes: the role the EKS managed node groups run as
################################################################################

data "aws_iam_policy_document" "nodes_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "nodes" {
  name               = "${var.name}-eks-nodes"
  assume_role_policy = data.aws_iam_policy_document.nodes_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "nodes" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
  ])

  role       = aws_iam_role.nodes.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/${each.value}"
}

################################################################################
# Pods: IRSA roles, each trusted by one service account of the cluster only
################################################################################

data "aws_iam_policy_document" "pod_assume" {
  for_each = var.pod_roles

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "pods" {
  for_each = var.pod_roles

  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.pod_assume[each.key].json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "pods" {
  for_each = {
    for pair in flatten([
      for role, spec in var.pod_roles : [for arn in spec.policy_arns : { key = "${role}/${arn}", role = role, arn = arn }]
    ]) : pair.key => pair
  }

  role       = aws_iam_role.pods[each.value.role].name
  policy_arn = each.value.arn
}

resource "aws_iam_role_policy" "pods" {
  for_each = var.pod_inline_policies

  name   = each.key
  role   = aws_iam_role.pods[each.key].id
  policy = each.value
}
