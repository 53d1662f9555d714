{{/* The chart name, or nameOverride. */}}
{{- define "shop.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The resource name prefix. Truncated at 57 characters, not 63: the colour suffix ("-green") must
still fit a DNS-1123 label.
*/}}
{{- define "shop.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 57 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 57 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 57 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "shop.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "shop.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "shop.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stormcheck
{{- end -}}

{{/* The colours that run: the live one always, the other one when it has an image. */}}
{{- define "shop.colors" -}}
{{- $colors := list -}}
{{- range $color := list "blue" "green" -}}
{{- if or (eq $color $.Values.color) (index $.Values.colors $color).tag -}}
{{- $colors = append $colors $color -}}
{{- end -}}
{{- end -}}
{{- join "," $colors -}}
{{- end -}}

{{/*
<registry>/<repository>:<content hash>. Argument: (dict "root" $ "color" "blue").
The tag is the hash of the image's build context (stormcheck.local.images.role_hash).
*/}}
{{- define "shop.image" -}}
{{- $image := .root.Values.image -}}
{{- $tag := (index .root.Values.colors .color).tag -}}
{{- if not $image.registry -}}
{{- fail "image.registry is empty: set it to the ECR registry (the Terraform output ecr_registry)" -}}
{{- end -}}
{{- if not $tag -}}
{{- fail (printf "colors.%s.tag is empty: the live colour needs the shop image's content hash" .color) -}}
{{- end -}}
{{- printf "%s/%s:%s" $image.registry $image.repository $tag -}}
{{- end -}}

{{/* The Secret the ExternalSecret writes: SHOP_DATABASE_URL and SHOP_REDIS_URL. */}}
{{- define "shop.credentialsSecret" -}}
{{- printf "%s-credentials" (include "shop.fullname" .) -}}
{{- end -}}

{{/* The pod securityContext of every pod of the chart (Pod Security Standards: restricted). */}}
{{- define "shop.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "shop.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* The alert and SLO rule groups of platform/observability/rules, through the links in files/rules. */}}
{{- define "shop.ruleGroups" -}}
{{- $groups := list -}}
{{- range $path, $_ := .Files.Glob "files/rules/*.yml" -}}
{{- $doc := $.Files.Get $path | fromYaml -}}
{{- if hasKey $doc "Error" -}}
{{- fail (printf "%s: not YAML: %s" $path $doc.Error) -}}
{{- end -}}
{{- $groups = concat $groups $doc.groups -}}
{{- end -}}
{{- if not $groups -}}
{{- fail "files/rules/*.yml hold no rule groups: they must link to platform/observability/rules/" -}}
{{- end -}}
{{- toYaml $groups -}}
{{- end -}}

{{/* The namespace of every resource: namespace.name, else the release's. */}}
{{- define "shop.namespace" -}}
{{- default .Release.Namespace .Values.namespace.name -}}
{{- end -}}
