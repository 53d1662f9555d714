################################################################################
# One security group per tier. Data tiers (database, redis, opensearch) accept traffic
# only from the node group, never from a CIDR block.
################################################################################

locals {
  tiers = {
    alb        = "load balancer of the shop ingress"
    nodes      = "EKS nodes and pods"
    database   = "RDS PostgreSQL"
    redis      = "ElastiCache Redis"
    opensearch = "OpenSearch log store"
  }
  data_tiers = {
    database   = 5432
    redis      = 6379
    opensearch = 443
  }
}

resource "aws_security_group" "this" {
  for_each = local.tiers

  name        = "${var.name}-${each.key}"
  description = "${each.value} (${var.name})"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-${each.key}", Tier = each.key })

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Load balancer: HTTPS from the clients, to the nodes
################################################################################

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.ingress_cidrs)

  security_group_id = aws_security_group.this["alb"].id
  description       = "HTTPS from clients"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "alb_to_nodes" {
  security_group_id            = aws_security_group.this["alb"].id
  description                  = "To the ingress pods on the nodes"
  referenced_security_group_id = aws_security_group.this["nodes"].id
  ip_protocol                  = "tcp"
  from_port                    = 1024
  to_port                      = 65535

  tags = var.tags
}

################################################################################
# Nodes: from the load balancer and each other; out to the data tiers, the VPC and HTTPS
################################################################################

resource "aws_vpc_security_group_ingress_rule" "nodes_from_alb" {
  security_group_id            = aws_security_group.this["nodes"].id
  description                  = "From the load balancer"
  referenced_security_group_id = aws_security_group.this["alb"].id
  ip_protocol                  = "tcp"
  from_port                    = 1024
  to_port                      = 65535

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "nodes_from_nodes" {
  security_group_id            = aws_security_group.this["nodes"].id
  description                  = "Node to node and pod to pod"
  referenced_security_group_id = aws_security_group.this["nodes"].id
  ip_protocol                  = "-1"

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "nodes_in_vpc" {
  security_group_id = aws_security_group.this["nodes"].id
  description       = "Anything inside the VPC (data tiers, control plane, DNS)"
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "-1"

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "nodes_https" {
  security_group_id = aws_security_group.this["nodes"].id
  description       = "HTTPS to AWS APIs and image registries through the NAT gateways"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443

  tags = var.tags
}

################################################################################
# Data tiers: their port, from the nodes only
################################################################################

resource "aws_vpc_security_group_ingress_rule" "data_from_nodes" {
  for_each = local.data_tiers

  security_group_id            = aws_security_group.this[each.key].id
  description                  = "${local.tiers[each.key]} from the EKS nodes"
  referenced_security_group_id = aws_security_group.this["nodes"].id
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value

  tags = var.tags
}
